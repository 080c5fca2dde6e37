/**
 * Shared by the workers page tests and the browser tests: read the data a chart mark carries and check it against
 * the JSON it names (data-source, data-pointer, data-field), number for number.
 */

export interface Mark {
  /** The mark's attributes (data-* and others). */
  attrs: Record<string, string>;
  /** The nearest enclosing data-source (the section's JSON), unless the mark names its own. */
  source: string;
}

/** Resolves a JSON Pointer (RFC 6901). */
export function resolvePointer(doc: unknown, pointer: string): unknown {
  if (pointer === "") return doc;
  let cur: any = doc;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (cur == null) return undefined;
    cur = cur[key];
  }
  return cur;
}

const parseNum = (s: string | undefined) => (s === undefined ? undefined : s === "null" ? null : Number(s));
/** JSON writes NaN and infinities as null; compare like that. */
const jsonNum = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x : x == null || typeof x === "number" ? null : x);

/** Problems found comparing one mark with its JSON (empty when it matches). */
export function checkMark(mark: Mark, json: unknown): string[] {
  const a = mark.attrs;
  const where = `${mark.source}#${a["data-pointer"]}`;
  const obj = resolvePointer(json, a["data-pointer"]);
  if (obj === undefined) return [`${where}: pointer does not resolve`];
  const field = a["data-field"] ?? "";
  const problems: string[] = [];
  const expect = (name: string, got: unknown, want: unknown) => {
    if (got !== want) problems.push(`${where} ${name}: chart has ${String(got)}, JSON has ${String(want)}`);
  };
  const value = field ? (obj as any)[field] : obj;
  expect("estimate", parseNum(a["data-estimate"]), jsonNum(value));
  if (field && a["data-lo"] !== undefined) expect("lo", parseNum(a["data-lo"]), jsonNum((obj as any).lo));
  if (field && a["data-hi"] !== undefined) expect("hi", parseNum(a["data-hi"]), jsonNum((obj as any).hi));
  if (field && a["data-n"] !== undefined) expect("n", parseNum(a["data-n"]), jsonNum((obj as any)[a["data-n-field"] ?? "n"]));
  // The mark's key names what the object is (its dimension, category, endpoint, set...), or the pointer ends with it.
  const key = a["data-key"] ?? a["data-row"];
  if (key !== undefined && field) {
    const names = Object.values(obj as object).filter((v) => typeof v === "string");
    if (
      !names.includes(key) &&
      !a["data-pointer"].endsWith(`/${key}`) &&
      key !== a["data-pointer"] &&
      !(a["data-series"] && a["data-pointer"].endsWith(`/${a["data-series"]}`))
    ) {
      problems.push(`${where}: the object does not name key ${key}`);
    }
  }
  return problems;
}

/** Marks in an HTML text (no DOM): elements with data-pointer, with the nearest data-source before them. */
export function marksInHtml(html: string): Mark[] {
  const marks: Mark[] = [];
  const stack: { tag: string; source?: string }[] = [];
  for (const m of html.matchAll(/<(\/?)([a-zA-Z][\w-]*)([^>]*?)(\/?)>/g)) {
    const [, close, tag, rest, selfClose] = m;
    if (close) {
      const i = stack.map((s) => s.tag).lastIndexOf(tag);
      if (i >= 0) stack.length = i;
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of rest.matchAll(/([\w:-]+)="([^"]*)"/g))
      attrs[a[1]] = a[2]
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&amp;/g, "&");
    const void_ = selfClose || /^(meta|link|img|br|input|hr|circle|rect|line|stop|path)$/i.test(tag);
    if (attrs["data-pointer"] !== undefined) {
      const source = attrs["data-source"] ?? [...stack].reverse().find((s) => s.source)?.source ?? "";
      marks.push({ attrs, source });
    }
    if (!void_) stack.push({ tag, source: attrs["data-source"] });
  }
  return marks;
}
