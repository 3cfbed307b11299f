// A small element builder: text goes in as text nodes, never as HTML, so nothing the API returns
// can inject markup.
type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c);
  }
  return el;
}

/** Replaces the contents of the element with the given id. */
export function fill(id: string, ...children: (Child | Child[])[]): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no #${id} in the page`);
  el.replaceChildren(...(children.flat().filter(Boolean) as (Node | string)[]));
  return el;
}

/** A labelled progress bar (0..1) with its percentage as text beside it. */
export function bar(label: string, share: number, text: string): HTMLElement {
  const clamped = Math.max(0, Math.min(1, share));
  return h(
    "div",
    { class: "bar" },
    h("progress", { max: 100, value: Math.round(clamped * 100), "aria-label": label }),
    h("span", { class: "bar-text" }, text),
  );
}
