// Starts Swagger UI on the document named by <meta name="openapi-url">. Kept out of index.html
// so that the page's Content-Security-Policy can allow scripts from 'self' only.
window.addEventListener("DOMContentLoaded", function () {
  var meta = document.querySelector('meta[name="openapi-url"]');
  window.ui = SwaggerUIBundle({
    url: meta ? meta.content : "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // the default validator is a remote service: load nothing from elsewhere
    presets: [SwaggerUIBundle.presets.apis],
  });
});
