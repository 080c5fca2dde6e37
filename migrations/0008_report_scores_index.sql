-- Issue 15 (D1 cost and report speed at scale). Reports read every score of a run. An index on (run_id, unit_id, score) answers those reads without
-- touching the wide response rows (request and raw completion, ~4 KB each), and its run_id prefix serves every
-- query `responses_run` served, so it replaces that index: no extra row written per response.
CREATE INDEX `responses_run_scores` ON `responses` (`run_id`,`unit_id`,`score`);--> statement-breakpoint
DROP INDEX IF EXISTS `responses_run`;
--> statement-breakpoint
-- Only follow-up units have a parent: a partial index skips the index write for every first-stage unit (D1 bills
-- each index entry written as a row). Lookups by parent_id (`parent_id = ?`, `IN (...)`) imply IS NOT NULL, so
-- SQLite still uses it.
DROP INDEX IF EXISTS `units_parent`;--> statement-breakpoint
CREATE INDEX `units_parent` ON `units` (`parent_id`) WHERE `parent_id` IS NOT NULL;
