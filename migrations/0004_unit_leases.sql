-- Issue 12 (consumer half): a lease per unit so at most one delivery calls its model, the reason a run stalled
-- (e.g. its plan message reached the dead-letter queue). The cron's sweep reads units per run (units_run_status).
ALTER TABLE `units` ADD `lease_id` text;
--> statement-breakpoint
ALTER TABLE `units` ADD `lease_until` text;
--> statement-breakpoint
ALTER TABLE `runs` ADD `stall_reason` text;
