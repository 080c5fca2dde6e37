CREATE TABLE `datasets` (
	`id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`spec` text NOT NULL,
	`constitution` text NOT NULL,
	`constitution_version` integer NOT NULL,
	`scope` text NOT NULL,
	`categories` text NOT NULL,
	`seed` integer NOT NULL,
	`helpful_endpoint_id` text NOT NULL,
	`critic_endpoint_id` text NOT NULL,
	`suite_version_id` text,
	`run_id` text,
	`training_job_id` text,
	`counts` text,
	`leakage` text,
	`validation` text,
	`reasons` text DEFAULT '[]' NOT NULL,
	`export_key` text,
	`manifest_key` text,
	`export_sha256` text,
	`export_bytes` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`finished_at` text
);
--> statement-breakpoint
CREATE INDEX `datasets_run` ON `datasets` (`run_id`);--> statement-breakpoint
CREATE INDEX `datasets_status` ON `datasets` (`status`);--> statement-breakpoint
CREATE TABLE `rescores` (
	`endpoint_id` text NOT NULL,
	`slot` integer NOT NULL,
	`interval_minutes` integer NOT NULL,
	`run_id` text NOT NULL,
	`skipped` text DEFAULT '[]' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	PRIMARY KEY(`endpoint_id`, `slot`)
);
--> statement-breakpoint
CREATE TABLE `training_events` (
	`id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`source` text NOT NULL,
	`status` text NOT NULL,
	`detail` text DEFAULT '{}' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `training_events_job` ON `training_events` (`job_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `training_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`dataset_id` text,
	`dataset_spec` text,
	`provider` text NOT NULL,
	`provider_base_url` text NOT NULL,
	`provider_api_key_enc` text,
	`provider_job_id` text,
	`provider_file_id` text,
	`provider_status` text,
	`base_endpoint_id` text NOT NULL,
	`base_model` text NOT NULL,
	`hyperparameters` text DEFAULT '{}' NOT NULL,
	`evaluate` text NOT NULL,
	`endpoint_name` text,
	`fine_tuned_model` text,
	`serving_base_url` text,
	`endpoint_id` text,
	`eval_run_id` text,
	`error` text,
	`debug` text,
	`crashes` text DEFAULT '[]' NOT NULL,
	`last_event_at` text,
	`last_polled_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`completed_at` text
);
--> statement-breakpoint
CREATE INDEX `training_jobs_provider_job` ON `training_jobs` (`provider`,`provider_job_id`);--> statement-breakpoint
CREATE INDEX `training_jobs_status` ON `training_jobs` (`status`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`source` text NOT NULL,
	`event_type` text NOT NULL,
	`outcome` text NOT NULL,
	`subject` text,
	`received_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
