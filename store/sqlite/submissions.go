package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/ymera/ymera/store"
)

// submissions implements store.Submissions.
type submissions struct{ db *DB }

// submissionColumns is what scanSubmission reads, in order.
const submissionColumns = `id, COALESCE(project_id, ''), COALESCE(user_id, ''), code,
	quality_score, security_score, performance_score, status,
	COALESCE(integration_strategy, ''), result, created_at, integrated_at`

func scanSubmission(row scanner) (store.Submission, error) {
	var s store.Submission
	err := row.Scan(&s.ID, &s.ProjectID, &s.UserID, &s.Code,
		&s.QualityScore, &s.SecurityScore, &s.PerformanceScore, &s.Status,
		&s.IntegrationStrategy, jsonCol{&s.Result}, timeCol{&s.CreatedAt}, nullTimeCol{&s.IntegratedAt})
	return s, err
}

// Create stores s. An empty status is the seed's default, "pending"; a zero
// CreatedAt is now. Scores are rounded to two places, as PostgreSQL's
// DECIMAL(5,2) does (SQLite stores them as REAL).
func (r submissions) Create(ctx context.Context, s store.Submission) error {
	if s.Status == "" {
		s.Status = "pending"
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = r.db.now()
	}
	_, err := r.db.write.ExecContext(ctx, `INSERT INTO submissions (id, project_id, user_id, code,
		quality_score, security_score, performance_score, status, integration_strategy,
		result, created_at, integrated_at)
		VALUES ($1, $2, $3, $4, round($5, 2), round($6, 2), round($7, 2), $8, $9, $10, $11, $12)`,
		s.ID, nullable(s.ProjectID), nullable(s.UserID), s.Code,
		s.QualityScore, s.SecurityScore, s.PerformanceScore, s.Status, nullable(s.IntegrationStrategy),
		jsonArg(s.Result), timeArg(s.CreatedAt), nullTimeArg(s.IntegratedAt))
	if err != nil {
		return fmt.Errorf("store: create submission %s: %w", s.ID, translate(err))
	}
	return nil
}

// Get returns the submission with id.
func (r submissions) Get(ctx context.Context, id string) (store.Submission, error) {
	s, err := scanSubmission(r.db.read.QueryRowContext(ctx, `SELECT `+submissionColumns+` FROM submissions WHERE id = $1`, id))
	if err != nil {
		return store.Submission{}, fmt.Errorf("store: get submission %s: %w", id, translate(err))
	}
	return s, nil
}

// ListByProject returns a project's submissions, newest first.
func (r submissions) ListByProject(ctx context.Context, projectID string, limit int) ([]store.Submission, error) {
	rows, err := r.db.read.QueryContext(ctx, `SELECT `+submissionColumns+` FROM submissions
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
	var p params
	var set []string
	if upd.QualityScore != nil {
		set = append(set, "quality_score = round("+p.add(*upd.QualityScore)+", 2)")
	}
	if upd.SecurityScore != nil {
		set = append(set, "security_score = round("+p.add(*upd.SecurityScore)+", 2)")
	}
	if upd.PerformanceScore != nil {
		set = append(set, "performance_score = round("+p.add(*upd.PerformanceScore)+", 2)")
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
		set = append(set, "integrated_at = "+p.add(timeArg(*upd.IntegratedAt)))
	}
	if len(set) == 0 {
		// Submissions have no updated_at to bump: an empty update is a read.
		return r.Get(ctx, id)
	}
	s, err := scanSubmission(r.db.write.QueryRowContext(ctx, `UPDATE submissions SET `+strings.Join(set, ", ")+
		` WHERE id = `+p.add(id)+` RETURNING `+submissionColumns, p...))
	if err != nil {
		return store.Submission{}, fmt.Errorf("store: update submission %s: %w", id, translate(err))
	}
	return s, nil
}
