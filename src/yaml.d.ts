// YAML data files are bundled as text (wrangler [[rules]] Text; a small vite plugin in vitest.config.ts).
declare module "*.yaml" {
  const text: string;
  export default text;
}
