-- Issue 12 (consumer half): a lease per unit so at most one delivery calls its model, the reason a run stalled
-- (e.g. its plan message reached the dead-letter queue), and an index for the cron's sweep of stalled pending units.
ALTER TABLE `units` ADD `lease_id` text;
--> statement-breakpoint
ALTER TABLE `units` ADD `lease_until` text;
--> statement-breakpoint
ALTER TABLE `runs` ADD `stall_reason` text;
--> statement-breakpoint
CREATE INDEX `units_status_updated` ON `units` (`status`,`updated_at`);
