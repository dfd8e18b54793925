package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/ymera/ymera/store"
)

// projects implements store.Projects.
type projects struct{ db *DB }

// projectColumns is what scanProject reads, in order.
const projectColumns = `id, name, COALESCE(description, ''), COALESCE(repository_url, ''),
	status, config, COALESCE(owner_id, ''), created_at, updated_at`

func scanProject(row scanner) (store.Project, error) {
	var p store.Project
	err := row.Scan(&p.ID, &p.Name, &p.Description, &p.RepositoryURL,
		&p.Status, jsonCol{&p.Config}, &p.OwnerID, timeCol{&p.CreatedAt}, timeCol{&p.UpdatedAt})
	return p, err
}

// Create stores p. An empty status is the seed's default, "active"; zero
// timestamps are set to now.
func (r projects) Create(ctx context.Context, p store.Project) error {
	if p.Status == "" {
		p.Status = "active"
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = r.db.now()
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = p.CreatedAt
	}
	_, err := r.db.write.ExecContext(ctx, `INSERT INTO projects (id, name, description, repository_url,
		status, config, owner_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		p.ID, p.Name, nullable(p.Description), nullable(p.RepositoryURL),
		p.Status, jsonArg(p.Config), nullable(p.OwnerID), timeArg(p.CreatedAt), timeArg(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: create project %s: %w", p.ID, translate(err))
	}
	return nil
}

// Get returns the project with id.
func (r projects) Get(ctx context.Context, id string) (store.Project, error) {
	p, err := scanProject(r.db.read.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = $1`, id))
	if err != nil {
		return store.Project{}, fmt.Errorf("store: get project %s: %w", id, translate(err))
	}
	return p, nil
}

// List returns the projects f selects, by id. Search matches names that
// contain every word of it, ignoring ASCII case: the nearest SQLite comes,
// without an FTS table, to PostgreSQL's full-text match (which also stems).
func (r projects) List(ctx context.Context, f store.ProjectFilter) ([]store.Project, error) {
	var p params
	var conds []string
	if f.OwnerID != "" {
		conds = append(conds, "owner_id = "+p.add(f.OwnerID))
	}
	for _, word := range strings.Fields(f.Search) {
		conds = append(conds, "name LIKE "+p.add("%"+likeEscaper.Replace(word)+"%")+` ESCAPE '\'`)
	}
	if f.After != "" {
		if !validID(f.After) {
			return nil, fmt.Errorf("store: list projects: cursor %q is not a project id", f.After)
		}
		conds = append(conds, "id > "+p.add(f.After))
	}
	rows, err := r.db.read.QueryContext(ctx, `SELECT `+projectColumns+` FROM projects`+store.Where(conds)+
		` ORDER BY id LIMIT `+p.add(store.Limit(f.Limit)), p...)
	if err != nil {
		return nil, fmt.Errorf("store: list projects: %w", translate(err))
	}
	list, err := collect(rows, scanProject)
	if err != nil {
		return nil, fmt.Errorf("store: list projects: %w", translate(err))
	}
	return list, nil
}

// likeEscaper makes a search word match itself literally in a LIKE pattern.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Update applies the non-nil fields of upd in one statement. A Config
// pointing at nil JSON clears the config (SQL NULL).
func (r projects) Update(ctx context.Context, id string, upd store.ProjectUpdate) (store.Project, error) {
	var p params
	var set []string
	if upd.Name != nil {
		set = append(set, "name = "+p.add(*upd.Name))
	}
	if upd.Description != nil {
		set = append(set, "description = "+p.add(*upd.Description))
	}
	if upd.RepositoryURL != nil {
		set = append(set, "repository_url = "+p.add(*upd.RepositoryURL))
	}
	if upd.Status != nil {
		set = append(set, "status = "+p.add(*upd.Status))
	}
	if upd.Config != nil {
		set = append(set, "config = "+p.add(jsonArg(*upd.Config)))
	}
	set = append(set, "updated_at = "+p.add(timeArg(r.db.now())))
	pr, err := scanProject(r.db.write.QueryRowContext(ctx, `UPDATE projects SET `+strings.Join(set, ", ")+
		` WHERE id = `+p.add(id)+` RETURNING `+projectColumns, p...))
	if err != nil {
		return store.Project{}, fmt.Errorf("store: update project %s: %w", id, translate(err))
	}
	return pr, nil
}

// Delete removes the project with id. store.ErrConflict while submissions or
// files refer to it.
func (r projects) Delete(ctx context.Context, id string) error {
	res, err := r.db.write.ExecContext(ctx, `DELETE FROM projects WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("store: delete project %s: %w", id, translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 { // the driver always knows the count
		return fmt.Errorf("store: delete project %s: %w", id, store.ErrNotFound)
	}
	return nil
}
