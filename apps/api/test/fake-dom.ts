/**
 * Just enough of a DOM to run the viewer's client script under Node (no browser in CI):
 * elements, text nodes, attributes, `details[data-key]` lookup. Any HTML-parsing API
 * throws, so a test also proves the script never builds markup from strings.
 */
export class FakeText {
  constructor(readonly text: string) {}
  get textContent(): string {
    return this.text;
  }
}

export type FakeNode = FakeElement | FakeText;

export class FakeElement {
  readonly children: FakeNode[] = [];
  readonly attributes = new Map<string, string>();
  className = "";
  open = false;
  hidden = false;

  constructor(readonly tagName: string) {}

  setAttribute(name: string, value: string): void {
    this.attributes.set(name, String(value));
  }

  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }

  append(...nodes: Array<FakeNode | string>): void {
    for (const node of nodes) {
      this.children.push(typeof node === "string" ? new FakeText(node) : node);
    }
  }

  replaceChildren(...nodes: FakeNode[]): void {
    this.children.length = 0;
    this.append(...nodes);
  }

  get textContent(): string {
    return this.children.map((child) => child.textContent).join("");
  }

  set textContent(text: string) {
    this.replaceChildren(new FakeText(text));
  }

  set innerHTML(_html: string) {
    throw new Error("innerHTML used");
  }

  set outerHTML(_html: string) {
    throw new Error("outerHTML used");
  }

  insertAdjacentHTML(): void {
    throw new Error("insertAdjacentHTML used");
  }

  /** Every element below this one, depth first. */
  *descendants(): Generator<FakeElement> {
    for (const child of this.children) {
      if (child instanceof FakeElement) {
        yield child;
        yield* child.descendants();
      }
    }
  }
}

/** A document whose body holds elements with the given ids. */
export class FakeDocument {
  hidden = false;
  readonly body = new FakeElement("body");
  private readonly byId = new Map<string, FakeElement>();

  constructor(ids: readonly string[]) {
    for (const id of ids) {
      const element = new FakeElement("div");
      element.setAttribute("id", id);
      this.byId.set(id, element);
      this.body.append(element);
    }
  }

  getElementById(id: string): FakeElement | null {
    return this.byId.get(id) ?? null;
  }

  createElement(tag: string): FakeElement {
    return new FakeElement(tag);
  }

  createTextNode(text: string): FakeText {
    return new FakeText(text);
  }

  querySelectorAll(selector: string): FakeElement[] {
    if (selector !== "details[data-key]") throw new Error(`unsupported selector ${selector}`);
    return [...this.body.descendants()].filter(
      (element) => element.tagName === "details" && element.attributes.has("data-key"),
    );
  }

  write(): void {
    throw new Error("document.write used");
  }
}
