output "database_name" {
  description = "Name of the Glue database; null if none was created."
  value       = try(aws_glue_catalog_database.this[0].name, null)
}

output "table_name" {
  description = "Name of the Glue table over the archive; null if none was created."
  value       = try(aws_glue_catalog_table.this[0].name, null)
}

output "storage_location_template" {
  description = "Where Athena looks for a partition's objects: the table's storage.location.template, with $${column} placeholders; null if none was created."
  value       = try(aws_glue_catalog_table.this[0].parameters["storage.location.template"], null)
}
