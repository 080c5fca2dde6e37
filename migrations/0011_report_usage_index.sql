-- Issue 15 (reports at 100,000 units). The run report's usage section sums each run's tokens per endpoint and model;
-- those columns lie behind the ~4 KB request and raw completion of each response row, so the sum read every row's
-- overflow pages (about a third of the report's time at 100,000 units). The covering index of the score reads
-- (0008) now carries them too: still one index entry written per response, a few dozen bytes wider.
DROP INDEX IF EXISTS `responses_run_scores`;--> statement-breakpoint
CREATE INDEX `responses_run_scores` ON `responses` (`run_id`,`unit_id`,`score`,`endpoint_id`,`model`,`prompt_tokens`,`completion_tokens`);
