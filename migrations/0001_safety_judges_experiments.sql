CREATE TABLE `experiment_members` (
	`experiment_id` text NOT NULL,
	`endpoint_id` text NOT NULL,
	`constitution` text,
	`scope` text NOT NULL,
	`trained_categories` text NOT NULL,
	`arm` text NOT NULL,
	`replicate` integer DEFAULT 1 NOT NULL,
	PRIMARY KEY(`experiment_id`, `endpoint_id`)
);
--> statement-breakpoint
CREATE TABLE `experiments` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`base_endpoint_id` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `experiments_name_unique` ON `experiments` (`name`);--> statement-breakpoint
ALTER TABLE `runs` ADD `config` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `units` ADD `judge` text;--> statement-breakpoint
ALTER TABLE `units` ADD `parse_retries` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `units_parent` ON `units` (`parent_id`);