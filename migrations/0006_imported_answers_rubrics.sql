-- Issue 13 (byo judging): record-only endpoints, imported runs, rubrics as versioned data.
ALTER TABLE `endpoints` ADD `callable` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `runs` ADD `imported` integer DEFAULT false NOT NULL;--> statement-breakpoint
CREATE TABLE `rubrics` (
	`id` text PRIMARY KEY NOT NULL,
	`parser` text NOT NULL,
	`prompt_hash` text NOT NULL,
	`source` text NOT NULL,
	`definition` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
