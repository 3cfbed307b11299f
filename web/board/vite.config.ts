import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The board is served by the gateway under /board/ (see web/board/board.go), from assets built
// here and committed in dist/. The build must be reproducible byte for byte: `make
// check-generated` rebuilds it and fails on any difference.
export default defineConfig({
  base: "/board/",
  resolve: {
    // The typed client is used from its source (clients/typescript), as a frontend team would
    // use it from a package; openapi-fetch comes from this lockfile, one copy for both.
    alias: {
      "@guildhall/client": fileURLToPath(new URL("../../clients/typescript/src/index.ts", import.meta.url)),
    },
    dedupe: ["openapi-fetch"],
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    // Small enough that one request is better than many.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `npm run dev` against `make run`: the API stays on its own origin's paths.
    proxy: { "/v1": "http://localhost:8080" },
    fs: { allow: ["../.."] },
  },
});
