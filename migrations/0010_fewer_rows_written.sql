-- Issue 15 (cost per 10,000 judgments): D1 bills every row written, index entries included. A table with a text
-- PRIMARY KEY and a rowid keeps that key in a second B-tree (sqlite_autoindex_responses_1), one more row written per
-- response; WITHOUT ROWID stores the rows in the primary-key B-tree itself (3 -> 2 rows per response, measured by
-- test/integration/d1-row-budget.test.ts). Nothing reads responses.rowid. Rebuilt: create, copy, drop, rename.
-- (units keeps its rowid: the exports and the Inspect log page a run's units in rowid order, the plan's order.)
CREATE TABLE `responses_new` (
	`unit_id` text PRIMARY KEY NOT NULL,
	`run_id` text NOT NULL,
	`endpoint_id` text NOT NULL,
	`model` text NOT NULL,
	`request` text,
	`raw` text,
	`raw_key` text,
	`raw_line` integer,
	`answer` text,
	`parsed` text NOT NULL,
	`score` real,
	`latency_ms` integer NOT NULL,
	`prompt_tokens` integer,
	`completion_tokens` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `responses_new` SELECT `unit_id`, `run_id`, `endpoint_id`, `model`, `request`, `raw`, `raw_key`, `raw_line`, `answer`, `parsed`, `score`, `latency_ms`, `prompt_tokens`, `completion_tokens`, `created_at` FROM `responses`;
--> statement-breakpoint
DROP TABLE `responses`;
--> statement-breakpoint
ALTER TABLE `responses_new` RENAME TO `responses`;
--> statement-breakpoint
CREATE INDEX `responses_run_scores` ON `responses` (`run_id`,`unit_id`,`score`);
