package query

// CommandTag names what st did, as PostgreSQL's command tags do ("INSERT",
// "CREATE TABLE"): counted is true when the tag is followed by the number
// of rows affected. Statements that return rows (SELECT, SHOW, DESCRIBE,
// EXPLAIN, TRAIN) have no tag here: their rows say what they did.
func CommandTag(st Statement) (tag string, counted bool) {
	switch st.(type) {
	case *Insert:
		return "INSERT", true
	case *Update:
		return "UPDATE", true
	case *Delete:
		return "DELETE", true
	case *Copy:
		return "COPY", true
	case *CreateTable:
		return "CREATE TABLE", false
	case *DropTable:
		return "DROP TABLE", false
	case *CreateIndex:
		return "CREATE INDEX", false
	case *DropIndex:
		return "DROP INDEX", false
	case *Reindex:
		return "REINDEX", false
	case *CreateProjection:
		return "CREATE PROJECTION", false
	case *DropProjection:
		return "DROP PROJECTION", false
	case *CopyProjection:
		return "COPY PROJECTION", false
	case *Set:
		return "SET", false
	case *Begin:
		return "BEGIN", false
	case *Commit:
		return "COMMIT", false
	case *Rollback:
		return "ROLLBACK", false
	}
	return "", false
}
