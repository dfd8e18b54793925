package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ymera/ymera/store"
)

// submissions implements store.Submissions.
type submissions struct{ db *DB }

// submissionColumns is what scanSubmission reads, in order.
const submissionColumns = `id, COALESCE(project_id::text, ''), COALESCE(user_id::text, ''), code,
	quality_score, security_score, performance_score, status,
	COALESCE(integration_strategy, ''), result, created_at, integrated_at`

func scanSubmission(row pgx.Row) (store.Submission, error) {
	var s store.Submission
	var result []byte
	err := row.Scan(&s.ID, &s.ProjectID, &s.UserID, &s.Code,
		&s.QualityScore, &s.SecurityScore, &s.PerformanceScore, &s.Status,
		&s.IntegrationStrategy, &result, &s.CreatedAt, &s.IntegratedAt)
	if err != nil {
		return store.Submission{}, err
	}
	s.Result = jsonValue(result)
	return s, nil
}

// Create stores s. An empty status is the seed's default, "pending"; a zero
// CreatedAt is now. Scores are DECIMAL(5,2): stored rounded to two places.
func (r submissions) Create(ctx context.Context, s store.Submission) error {
	if s.Status == "" {
		s.Status = "pending"
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = r.db.now()
	}
	_, err := r.db.exec(ctx, `INSERT INTO submissions (id, project_id, user_id, code,
		quality_score, security_score, performance_score, status, integration_strategy,
		result, created_at, integrated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		s.ID, nullable(s.ProjectID), nullable(s.UserID), s.Code,
		s.QualityScore, s.SecurityScore, s.PerformanceScore, s.Status, nullable(s.IntegrationStrategy),
		jsonArg(s.Result), s.CreatedAt, s.IntegratedAt)
	if err != nil {
		return fmt.Errorf("store: create submission %s: %w", s.ID, translate(err))
	}
	return nil
}

// Get returns the submission with id.
func (r submissions) Get(ctx context.Context, id string) (store.Submission, error) {
	if !validID(id) {
		return store.Submission{}, fmt.Errorf("store: get submission %s: %w", id, store.ErrNotFound)
	}
	s, err := scanSubmission(r.db.queryRow(ctx, `SELECT `+submissionColumns+` FROM submissions WHERE id = $1`, id))
	if err != nil {
		return store.Submission{}, fmt.Errorf("store: get submission %s: %w", id, translate(err))
	}
	return s, nil
}

// ListByProject returns a project's submissions, newest first.
func (r submissions) ListByProject(ctx context.Context, projectID string, limit int) ([]store.Submission, error) {
	if !validID(projectID) {
		return []store.Submission{}, nil
	}
	rows, err := r.db.query(ctx, `SELECT `+submissionColumns+` FROM submissions
		WHERE project_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
		projectID, store.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: list submissions of project %s: %w", projectID, translate(err))
	}
	list, err := collect(rows, scanSubmission)
	if err != nil {
		return nil, fmt.Errorf("store: list submissions of project %s: %w", projectID, translate(err))
	}
	return list, nil
}

// Update applies the non-nil fields of upd in one statement. A Result
// pointing at nil JSON clears the result (SQL NULL).
func (r submissions) Update(ctx context.Context, id string, upd store.SubmissionUpdate) (store.Submission, error) {
	if !validID(id) {
		return store.Submission{}, fmt.Errorf("store: update submission %s: %w", id, store.ErrNotFound)
	}
	var p params
	var set []string
	if upd.QualityScore != nil {
		set = append(set, "quality_score = "+p.add(*upd.QualityScore))
	}
	if upd.SecurityScore != nil {
		set = append(set, "security_score = "+p.add(*upd.SecurityScore))
	}
	if upd.PerformanceScore != nil {
		set = append(set, "performance_score = "+p.add(*upd.PerformanceScore))
	}
	if upd.Status != nil {
		set = append(set, "status = "+p.add(*upd.Status))
	}
	if upd.IntegrationStrategy != nil {
		set = append(set, "integration_strategy = "+p.add(*upd.IntegrationStrategy))
	}
	if upd.Result != nil {
		set = append(set, "result = "+p.add(jsonArg(*upd.Result)))
	}
	if upd.IntegratedAt != nil {
		set = append(set, "integrated_at = "+p.add(*upd.IntegratedAt))
	}
	if len(set) == 0 {
		// Submissions have no updated_at to bump: an empty update is a read.
		return r.Get(ctx, id)
	}
	s, err := scanSubmission(r.db.queryRow(ctx, `UPDATE submissions SET `+strings.Join(set, ", ")+
		` WHERE id = `+p.add(id)+` RETURNING `+submissionColumns, p...))
	if err != nil {
		return store.Submission{}, fmt.Errorf("store: update submission %s: %w", id, translate(err))
	}
	return s, nil
}
