package sqlite

// BackfilledFrames is how many frames of the log the last background
// checkpoint found copied into the database file.
func BackfilledFrames(db *DB) int64 { return db.ckpt.backfilled.Load() }

// WriterAutocheckpoint is the write connection's wal_autocheckpoint.
func WriterAutocheckpoint(db *DB) (int, error) {
	var pages int
	err := db.write.QueryRow("PRAGMA wal_autocheckpoint").Scan(&pages)
	return pages, err
}

// SetTaskName writes a task's name behind the repositories' back.
func SetTaskName(db *DB, id, name string) error {
	_, err := db.write.Exec(`UPDATE tasks SET name = ? WHERE id = ?`, name, id)
	return err
}
