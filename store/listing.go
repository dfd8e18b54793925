package store

import (
	"strings"

	"github.com/ymera/ymera/actors"
)

// TaskPageSQL returns the statement the SQL stores read a page of tasks
// with: columns of the rows of tasks that meet every condition in conds
// (f's filters, as the store wrote them), newest first, at most limit (a
// placeholder) of them.
//
// The tasks table has three indexes for pages: (user_id, status, id DESC),
// (status, id DESC) and its primary key. A page filtered by status, or of
// every user's tasks, is one range of one of them. A page of one user's
// tasks of every status is read status by status, one range of
// (user_id, status, id DESC) each, at most limit rows from each, merged by
// id: a few more index descents for each page, in place of an index on
// (user_id, id DESC) that every task's insert and every change of its
// status would update (8 % of PostgreSQL's CPU a task, docs/performance.md
// step 28).
func TaskPageSQL(columns string, f TaskFilter, conds []string, limit string) string {
	order := " ORDER BY id DESC LIMIT " + limit
	if f.UserID == "" || f.Status != "" {
		return "SELECT " + columns + " FROM tasks" + Where(conds) + order
	}
	var b strings.Builder
	for i, st := range actors.Statuses() {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		// The statuses are constants: a literal lets the planner match the
		// range to the index with no generic plan in between.
		arm := append(conds[:len(conds):len(conds)], "status = '"+string(st)+"'")
		b.WriteString("SELECT * FROM (SELECT " + columns + " FROM tasks" + Where(arm) + order + ") AS " + string(st))
	}
	return b.String() + order
}

// Where joins conditions into a WHERE clause; none gives "".
func Where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}
