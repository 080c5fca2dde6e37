import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { readFile } from "node:fs/promises";
import { defineConfig } from "vitest/config";

/** YAML data files are bundled as text, as wrangler's [[rules]] Text does for the deployed worker. */
const yamlAsText = {
  name: "yaml-as-text",
  async load(id: string) {
    if (id.endsWith(".yaml")) return `export default ${JSON.stringify(await readFile(id, "utf8"))};`;
  },
};

/** Test-only secrets: fixed, never used outside tests. */
const TEST_SECRETS = {
  ENCRYPTION_KEY: "dGVzdC1vbmx5LWtleS10ZXN0LW9ubHkta2V5LTMyYiE",
  ADMIN_API_KEY: "test-admin-key",
  WEBHOOK_SECRET: "whsec_dGVzdC13ZWJob29rLXNlY3JldA",
  RESCORE_WEBHOOK_SECRET: "whsec_dGVzdC1yZXNjb3JlLXNlY3JldA",
};

export default defineConfig({
  test: {
    // .ci/run asks for a JSON report too, to print its one-line summary.
    reporters: process.env.VITEST_JSON_REPORT ? ["default", ["json", { outputFile: process.env.VITEST_JSON_REPORT }]] : ["default"],
    projects: [
      {
        plugins: [
          yamlAsText,
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ...TEST_SECRETS,
                TEST_MIGRATIONS: await readD1Migrations("./migrations"),
                SIM_URL: inject("simUrl" as never) as string,
                // The simulator listens on plain http on 127.0.0.1 (production allows no http host).
                ALLOW_HTTP_HOSTS: "127.0.0.1,localhost",
                // Shrunk so retries and timeouts happen within a test's time.
                RETRY_BASE_SECONDS: "0",
                MODEL_TIMEOUT_MS: "1500",
                // miniflare has no per-invocation connection cap; the gate is what the tests exercise.
                MAX_CALLS_PER_INVOCATION: "64",
                // Training pipeline: events (relayed webhooks, the cron called by the test) drive it, so its own
                // timed re-checks are long; step retries are quick; crash injection allowed; links signed for the test origin.
                PUBLIC_BASE_URL: "http://worker",
                PIPELINE_WAIT_SECONDS: "30",
                PIPELINE_RETRY_DELAY_MS: "20",
                TRAINING_POLL_AFTER_MINUTES: "0",
                ALLOW_FAULT_INJECTION: "1",
                // Recognition units look again for a base answer after 1 s instead of 30.
                BASE_ANSWER_WAIT_SECONDS: "1",
              },
              // Replaces wrangler.toml's consumer settings whole, so repeat them with a shorter batch timeout.
              queueConsumers: {
                "projectability-work": { maxBatchSize: 100, maxBatchTimeout: 0.05, maxRetries: 6, deadLetterQueue: "projectability-dlq" },
                "projectability-dlq": { maxBatchSize: 100, maxBatchTimeout: 0.05, maxRetries: 3 },
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
          setupFiles: ["./test/setup/apply-migrations.ts"],
          globalSetup: ["./test/setup/global-simulator.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Node tests import worker modules too (e.g. the consistency format, whose rubrics read the built-in YAML).
        plugins: [yamlAsText],
        test: {
          name: "node",
          environment: "node",
          include: ["test/node/**/*.test.ts"],
          // The CLI tests need the local stack: they run in the `stack` project below.
          exclude: ["test/node/cli.test.ts"],
          testTimeout: 60_000,
        },
      },
      {
        // One real local stack (simulator + wrangler dev) shared by the browser tests and the CLI tests.
        test: {
          name: "stack",
          environment: "node",
          include: ["test/browser/**/*.test.ts", "test/node/cli.test.ts"],
          globalSetup: ["./test/setup/local-stack.ts"],
          testTimeout: 90_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
