package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ymera/ymera/store"
)

// agents implements store.Agents.
type agents struct{ db *DB }

// agentColumns is what scanAgent reads, in order.
const agentColumns = `id, name, COALESCE(description, ''), capabilities, config, status,
	last_heartbeat, COALESCE(owner_id, ''), created_at, updated_at`

func scanAgent(row scanner) (store.Agent, error) {
	var a store.Agent
	var caps json.RawMessage
	err := row.Scan(&a.ID, &a.Name, &a.Description, jsonCol{&caps}, jsonCol{&a.Config}, &a.Status,
		nullTimeCol{&a.LastHeartbeat}, &a.OwnerID, timeCol{&a.CreatedAt}, timeCol{&a.UpdatedAt})
	if err != nil {
		return store.Agent{}, err
	}
	if a.Capabilities, err = capabilitiesValue(caps); err != nil {
		return store.Agent{}, err
	}
	return a, nil
}

// Create stores a. An empty status is the seed's default, "inactive"; zero
// timestamps are set to now.
func (r agents) Create(ctx context.Context, a store.Agent) error {
	if a.Status == "" {
		a.Status = "inactive"
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = r.db.now()
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.CreatedAt
	}
	caps, err := capabilitiesArg(a.Capabilities)
	if err != nil {
		return fmt.Errorf("store: create agent %s: %w", a.ID, err)
	}
	_, err = r.db.write.ExecContext(ctx, `INSERT INTO agents (id, name, description, capabilities, config,
		status, last_heartbeat, owner_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		a.ID, a.Name, nullable(a.Description), caps, jsonArg(a.Config),
		a.Status, nullTimeArg(a.LastHeartbeat), nullable(a.OwnerID), timeArg(a.CreatedAt), timeArg(a.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: create agent %s: %w", a.ID, translate(err))
	}
	return nil
}

// Get returns the agent with id.
func (r agents) Get(ctx context.Context, id string) (store.Agent, error) {
	a, err := scanAgent(r.db.read.QueryRowContext(ctx, `SELECT `+agentColumns+` FROM agents WHERE id = $1`, id))
	if err != nil {
		return store.Agent{}, fmt.Errorf("store: get agent %s: %w", id, translate(err))
	}
	return a, nil
}

// List returns the agents f selects, by id.
func (r agents) List(ctx context.Context, f store.AgentFilter) ([]store.Agent, error) {
	var p params
	var conds []string
	if f.OwnerID != "" {
		conds = append(conds, "owner_id = "+p.add(f.OwnerID))
	}
	if f.Status != "" {
		conds = append(conds, "status = "+p.add(f.Status))
	}
	if f.After != "" {
		if !validID(f.After) {
			return nil, fmt.Errorf("store: list agents: cursor %q is not an agent id", f.After)
		}
		conds = append(conds, "id > "+p.add(f.After))
	}
	rows, err := r.db.read.QueryContext(ctx, `SELECT `+agentColumns+` FROM agents`+store.Where(conds)+
		` ORDER BY id LIMIT `+p.add(store.Limit(f.Limit)), p...)
	if err != nil {
		return nil, fmt.Errorf("store: list agents: %w", translate(err))
	}
	list, err := collect(rows, scanAgent)
	if err != nil {
		return nil, fmt.Errorf("store: list agents: %w", translate(err))
	}
	return list, nil
}

// Update applies the non-nil fields of upd in one statement. A Config
// pointing at nil JSON clears the config (SQL NULL).
func (r agents) Update(ctx context.Context, id string, upd store.AgentUpdate) (store.Agent, error) {
	var p params
	var set []string
	if upd.Name != nil {
		set = append(set, "name = "+p.add(*upd.Name))
	}
	if upd.Description != nil {
		set = append(set, "description = "+p.add(*upd.Description))
	}
	if upd.Capabilities != nil {
		caps, err := capabilitiesArg(*upd.Capabilities)
		if err != nil {
			return store.Agent{}, fmt.Errorf("store: update agent %s: %w", id, err)
		}
		set = append(set, "capabilities = "+p.add(caps))
	}
	if upd.Config != nil {
		set = append(set, "config = "+p.add(jsonArg(*upd.Config)))
	}
	if upd.Status != nil {
		set = append(set, "status = "+p.add(*upd.Status))
	}
	if upd.LastHeartbeat != nil {
		set = append(set, "last_heartbeat = "+p.add(timeArg(*upd.LastHeartbeat)))
	}
	set = append(set, "updated_at = "+p.add(timeArg(r.db.now())))
	a, err := scanAgent(r.db.write.QueryRowContext(ctx, `UPDATE agents SET `+strings.Join(set, ", ")+
		` WHERE id = `+p.add(id)+` RETURNING `+agentColumns, p...))
	if err != nil {
		return store.Agent{}, fmt.Errorf("store: update agent %s: %w", id, translate(err))
	}
	return a, nil
}

// Delete removes the agent with id. store.ErrConflict while tasks refer to it.
func (r agents) Delete(ctx context.Context, id string) error {
	res, err := r.db.write.ExecContext(ctx, `DELETE FROM agents WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("store: delete agent %s: %w", id, translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 { // the driver always knows the count
		return fmt.Errorf("store: delete agent %s: %w", id, store.ErrNotFound)
	}
	return nil
}
