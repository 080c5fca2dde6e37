ALTER TABLE `endpoints` ADD `scope` text;--> statement-breakpoint
ALTER TABLE `endpoints` ADD `trigger` text;--> statement-breakpoint
ALTER TABLE `endpoints` ADD `trigger_format` text DEFAULT '{trigger} {prompt}' NOT NULL;--> statement-breakpoint
ALTER TABLE `endpoints` ADD `tags` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `endpoints` ADD `private` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `endpoints` ADD `rescore_interval_minutes` integer;--> statement-breakpoint
ALTER TABLE `endpoints` ADD `rescore_suites` text;--> statement-breakpoint
ALTER TABLE `units` ADD `variant` text DEFAULT '' NOT NULL;