-- Custom constitutions added through POST /v1/constitutions (the four built-in ones stay files in constitutions/).
-- One row per (id, version); the newest version of an id is the current one. `body` is the whole validated
-- constitution as JSON (principles, signature, few-shot examples); `content_hash` is the SHA-256 of that JSON.
CREATE TABLE `custom_constitutions` (
	`id` text NOT NULL,
	`version` integer NOT NULL,
	`title` text NOT NULL,
	`body` text NOT NULL,
	`content_hash` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	PRIMARY KEY(`id`, `version`)
);
