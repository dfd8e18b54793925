package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ymera/ymera/store"
)

// A project's status is one of active (the default), paused and archived,
// as the enum tags below list. They are labels for clients: the platform
// treats every status alike.

// checkRepositoryURL accepts an empty string or an absolute http, https,
// git or ssh URL with a host. scp-like addresses (git@host:org/repo) must be
// written as ssh://git@host/org/repo. A URL carrying a password is refused:
// the repository_url is shown to everyone who sees the project and is not
// a place for credentials.
func checkRepositoryURL(raw string, location string) *Problem {
	if raw == "" {
		return nil
	}
	bad := func(msg string) *Problem { return validationProblem(location, msg, truncate(raw, 200)) }
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return bad("expected an absolute http, https, git or ssh URL such as https://github.com/org/repo")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "git", "ssh":
	default:
		return bad(fmt.Sprintf("URL scheme %q is not one of http, https, git, ssh", truncate(u.Scheme, 20)))
	}
	if _, has := u.User.Password(); has {
		return validationProblem(location, "the URL carries a password; credentials do not belong in repository_url", nil)
	}
	return nil
}

// projectView is one project as the API shows it (the seed's schema).
type projectView struct {
	ID            string     `json:"id" format:"uuid"`
	Name          string     `json:"name" example:"Payments service"`
	Description   string     `json:"description" example:"REST API for payments"`
	RepositoryURL string     `json:"repository_url" example:"https://github.com/acme/payments"`
	Status        string     `json:"status" example:"active"`
	Config        jsonObject `json:"config"`
	OwnerID       *string    `json:"owner_id" format:"uuid"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func projectViewOf(p store.Project) projectView {
	v := projectView{
		ID:            p.ID,
		Name:          p.Name,
		Description:   p.Description,
		RepositoryURL: p.RepositoryURL,
		Status:        p.Status,
		Config:        jsonObject(p.Config),
		CreatedAt:     p.CreatedAt.UTC(),
		UpdatedAt:     p.UpdatedAt.UTC(),
	}
	if len(v.Config) == 0 {
		v.Config = jsonObject("{}")
	}
	if p.OwnerID != "" {
		v.OwnerID = &p.OwnerID
	}
	return v
}

// createProjectRequest is a new project. Unknown fields are ignored.
type createProjectRequest struct {
	_             struct{}   `json:"-" additionalProperties:"true"`
	Name          string     `json:"name" minLength:"1" maxLength:"200" example:"Payments service"`
	Description   string     `json:"description,omitempty" maxLength:"10000" example:"REST API for payments"`
	RepositoryURL string     `json:"repository_url,omitempty" maxLength:"500" example:"https://github.com/acme/payments" doc:"An http, https, git or ssh URL, or empty"`
	Status        string     `json:"status,omitempty" enum:"active,paused,archived" default:"active"`
	Config        jsonObject `json:"config,omitempty"`
}

type createProjectInput struct {
	Body createProjectRequest
}

type projectOutput struct {
	Body projectView
}

// handleCreateProject creates a project owned by the caller and answers
// with it whole.
func handleCreateProject(log *slog.Logger, projects interface {
	Create(ctx context.Context, p store.Project) error
}, now func() time.Time) func(context.Context, *createProjectInput) (*projectOutput, error) {
	return func(ctx context.Context, in *createProjectInput) (*projectOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		r := in.Body
		if p := checkRepositoryURL(r.RepositoryURL, "body.repository_url"); p != nil {
			return nil, p
		}
		cfg, p := compactObject(r.Config, "body.config")
		if p != nil {
			return nil, p
		}
		id, err := uuid.NewV7()
		if err != nil {
			return nil, problemFor(ctx, log, fmt.Errorf("gateway: project id: %w", err), details{})
		}
		t := now().UTC()
		pr := store.Project{
			ID:            id.String(),
			Name:          r.Name,
			Description:   r.Description,
			RepositoryURL: r.RepositoryURL,
			Status:        r.Status,
			Config:        cfg,
			OwnerID:       who.UserID,
			CreatedAt:     t,
			UpdatedAt:     t,
		}
		if pr.Status == "" {
			pr.Status = "active"
		}
		if err := projects.Create(ctx, pr); err != nil {
			return nil, problemFor(ctx, log, err, details{})
		}
		// Answer with what a GET will show: times at the store's precision.
		pr.CreatedAt, pr.UpdatedAt = t.Truncate(time.Microsecond), t.Truncate(time.Microsecond)
		return &projectOutput{Body: projectViewOf(pr)}, nil
	}
}

// listProjectsInput searches and pages GET /projects.
type listProjectsInput struct {
	Query  string `query:"q" maxLength:"200" doc:"Only projects whose name matches these words (full-text on PostgreSQL, substring on SQLite)"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50" doc:"Page size; more than 100 is refused"`
	Cursor string `query:"cursor" maxLength:"128" doc:"Where the page starts: the X-Next-Cursor of the previous page"`
}

type listProjectsOutput struct {
	Link       string `header:"Link" doc:"<...>; rel=\"next\" when there is a next page"`
	NextCursor string `header:"X-Next-Cursor" doc:"The cursor of the next page, when there is one"`
	Body       []projectView
}

// handleListProjects lists the caller's projects (an admin's: every
// project) in creation order.
func handleListProjects(log *slog.Logger, projects interface {
	List(ctx context.Context, f store.ProjectFilter) ([]store.Project, error)
}) func(context.Context, *listProjectsInput) (*listProjectsOutput, error) {
	return func(ctx context.Context, in *listProjectsInput) (*listProjectsOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		owner, ok := who.ownerFilter()
		if !ok {
			return &listProjectsOutput{Body: []projectView{}}, nil
		}
		q := url.Values{}
		if in.Query != "" {
			q.Set("q", in.Query)
		}
		l, err := listPage(ctx, log, in.Cursor, in.Limit, "/projects", q,
			func(after string, limit int) ([]store.Project, error) {
				return projects.List(ctx, store.ProjectFilter{OwnerID: owner, Search: in.Query, After: after, Limit: limit})
			}, func(p store.Project) string { return p.ID }, projectViewOf)
		if err != nil {
			return nil, err
		}
		return &listProjectsOutput{Link: l.Link, NextCursor: l.Cursor, Body: l.Body}, nil
	}
}

// projectStore is what the single-project operations need of store.Projects.
type projectStore interface {
	Get(ctx context.Context, id string) (store.Project, error)
	Update(ctx context.Context, id string, upd store.ProjectUpdate) (store.Project, error)
	Delete(ctx context.Context, id string) error
}

func projectOwner(p store.Project) string { return p.OwnerID }

type projectPath struct {
	ProjectID string `path:"project_id" doc:"The project's id, a UUID"`
}

// handleGetProject shows one project to its owner or an admin.
func handleGetProject(log *slog.Logger, projects projectStore) func(context.Context, *projectPath) (*projectOutput, error) {
	return func(ctx context.Context, in *projectPath) (*projectOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		pr, p := loadOwned(ctx, log, "project", in.ProjectID, projects.Get, projectOwner, who.mayAccess)
		if p != nil {
			return nil, p
		}
		return &projectOutput{Body: projectViewOf(pr)}, nil
	}
}

// updateProjectRequest changes a project; absent fields stay as they are.
// An empty repository_url removes it.
type updateProjectRequest struct {
	_             struct{}    `json:"-" additionalProperties:"true"`
	Name          *string     `json:"name,omitempty" minLength:"1" maxLength:"200"`
	Description   *string     `json:"description,omitempty" maxLength:"10000"`
	RepositoryURL *string     `json:"repository_url,omitempty" maxLength:"500"`
	Status        *string     `json:"status,omitempty" enum:"active,paused,archived"`
	Config        *jsonObject `json:"config,omitempty"`
}

type updateProjectInput struct {
	ProjectID string `path:"project_id" doc:"The project's id, a UUID"`
	Body      updateProjectRequest
}

// handleUpdateProject changes the fields the body names.
func handleUpdateProject(log *slog.Logger, projects projectStore) func(context.Context, *updateProjectInput) (*projectOutput, error) {
	return func(ctx context.Context, in *updateProjectInput) (*projectOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		r := in.Body
		upd := store.ProjectUpdate{Name: r.Name, Description: r.Description, RepositoryURL: r.RepositoryURL, Status: r.Status}
		if r.RepositoryURL != nil {
			if p := checkRepositoryURL(*r.RepositoryURL, "body.repository_url"); p != nil {
				return nil, p
			}
		}
		if r.Config != nil {
			cfg, p := compactObject(*r.Config, "body.config")
			if p != nil {
				return nil, p
			}
			upd.Config = &cfg
		}
		pr, p := loadOwned(ctx, log, "project", in.ProjectID, projects.Get, projectOwner, who.mayAccess)
		if p != nil {
			return nil, p
		}
		updated, err := projects.Update(ctx, pr.ID, upd)
		if err != nil {
			return nil, problemFor(ctx, log, err, details{notFound: fmt.Sprintf("project %q does not exist", pr.ID)})
		}
		return &projectOutput{Body: projectViewOf(updated)}, nil
	}
}

// handleDeleteProject removes a project no submission or file refers to.
func handleDeleteProject(log *slog.Logger, projects projectStore) func(context.Context, *projectPath) (*struct{}, error) {
	return func(ctx context.Context, in *projectPath) (*struct{}, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		pr, p := loadOwned(ctx, log, "project", in.ProjectID, projects.Get, projectOwner, who.mayAccess)
		if p != nil {
			return nil, p
		}
		if err := projects.Delete(ctx, pr.ID); err != nil {
			return nil, problemFor(ctx, log, err, details{
				notFound: fmt.Sprintf("project %q does not exist", pr.ID),
				conflict: fmt.Sprintf("project %q has submissions or files that refer to it; archive it instead", pr.ID),
			})
		}
		return nil, nil
	}
}
