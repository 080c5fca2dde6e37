import { defineConfig } from "drizzle-kit";

// drizzle-kit 0.31 writes flat, numbered .sql files, which is what `wrangler d1 migrations apply`
// and the vitest plugin's readD1Migrations read. Never run `drizzle-kit push/migrate` against D1.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
  tablesFilter: ["!d1_migrations", "!_cf_*"],
});
