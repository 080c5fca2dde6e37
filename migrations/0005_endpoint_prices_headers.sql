-- Issue 14: endpoint prices (cost before and after a run) and extra static headers for private model servers.
ALTER TABLE `endpoints` ADD `price_per_million_input_tokens` real;--> statement-breakpoint
ALTER TABLE `endpoints` ADD `price_per_million_output_tokens` real;--> statement-breakpoint
ALTER TABLE `endpoints` ADD `headers_enc` text;--> statement-breakpoint
ALTER TABLE `endpoints` ADD `header_names` text DEFAULT '[]' NOT NULL;
