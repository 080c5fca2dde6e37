-- Issue 15: reports read every score of a run. An index on (run_id, unit_id, score) answers those reads without
-- touching the wide response rows (request and raw completion, ~4 KB each), and its run_id prefix serves every
-- query `responses_run` served, so it replaces that index: no extra row written per response.
CREATE INDEX `responses_run_scores` ON `responses` (`run_id`,`unit_id`,`score`);--> statement-breakpoint
DROP INDEX IF EXISTS `responses_run`;
