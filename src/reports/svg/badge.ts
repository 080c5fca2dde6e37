/** @module reports/svg/badge: a flat badge in the shields.io style ("label | message"), drawn on the server. */
import { esc, FONT } from "./text";

/** Named badge colours (shields.io's palette names) as hex. */
export const BADGE_COLOURS: Record<string, string> = {
  brightgreen: "#2e7d32",
  green: "#3d7a1f",
  yellowgreen: "#6b6b00",
  yellow: "#8a6d00",
  orange: "#b34700",
  red: "#c62828",
  blue: "#1f5fa8",
  lightgrey: "#595959",
};

/**
 * Approximate advance widths at 11 px of a Verdana-like font (shields.io measures Verdana 11px too), so the
 * badge's boxes fit their text without loading a font.
 */
function charWidth(ch: string): number {
  if (/[0-9]/.test(ch)) return 7;
  if (/[il.,:;|'!\[\]()]/.test(ch)) return 3.9;
  if (/[fjrt\-]/.test(ch)) return 4.9;
  if (/[mw]/.test(ch)) return 10.7;
  if (/[A-Z]/.test(ch)) return ch === "M" || ch === "W" ? 10.4 : 7.6;
  if (ch === " ") return 3.9;
  return 6.9;
}

export function textWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch);
  return Math.ceil(w);
}

export interface BadgeOptions {
  label: string;
  message: string;
  /** A BADGE_COLOURS name or a #hex colour. */
  color: string;
  /** Extra data attributes on the root (values for tests). */
  data?: string;
}

/** The badge SVG: accessible name "label: message", white text on dark fills (contrast at least 4.5:1). */
export function badge(o: BadgeOptions): string {
  const fill = BADGE_COLOURS[o.color] ?? (/^#[0-9a-f]{6}$/i.test(o.color) ? o.color : BADGE_COLOURS.lightgrey);
  const lw = textWidth(o.label) + 12;
  const mw = textWidth(o.message) + 12;
  const w = lw + mw;
  const name = esc(`${o.label}: ${o.message}`);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" viewBox="0 0 ${w} 20" role="img" aria-label="${name}"${o.data ?? ""}>` +
    `<title>${name}</title>` +
    `<rect width="${lw}" height="20" fill="#404040"/><rect x="${lw}" width="${mw}" height="20" fill="${fill}"/>` +
    `<g fill="#ffffff" font-family="Verdana,Geneva,'DejaVu Sans',${FONT}" font-size="11" text-anchor="middle">` +
    `<text x="${lw / 2}" y="14">${esc(o.label)}</text><text x="${lw + mw / 2}" y="14">${esc(o.message)}</text></g></svg>`
  );
}
