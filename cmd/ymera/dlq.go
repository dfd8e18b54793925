package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// dlqCmd is "ymera dlq list|replay": the dead-letter queue of a running
// gateway, over its HTTP API, as an admin.
func dlqCmd(e env) *cobra.Command {
	var base, token string
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "List and replay dead-lettered tasks on a running gateway (admin)",
		Long: "Talks to a running gateway's /admin/dlq with an admin's access token " +
			"(--token, or the YMERA_TOKEN environment variable).",
	}
	cmd.PersistentFlags().StringVar(&base, "url", "http://localhost:8000", "the gateway's base URL")
	cmd.PersistentFlags().StringVar(&token, "token", "", "an admin access token (default $YMERA_TOKEN)")
	client := func() (*gatewayClient, error) {
		if token == "" {
			token, _ = e.getenv("YMERA_TOKEN")
		}
		if token == "" {
			return nil, errors.New("no access token: pass --token or set YMERA_TOKEN")
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--url %q: want http(s)://host[:port]", base)
		}
		return &gatewayClient{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
	}

	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List dead-lettered tasks, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var entries []struct {
				TaskID     string    `json:"task_id"`
				TaskType   string    `json:"task_type"`
				Reason     string    `json:"reason"`
				DeadAt     time.Time `json:"dead_at"`
				Deliveries int       `json:"deliveries"`
			}
			if err := c.do(cmd.Context(), http.MethodGet, fmt.Sprintf("/admin/dlq?limit=%d", limit), &entries); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TASK ID\tTYPE\tDEAD AT\tDELIVERIES\tREASON")
			for _, d := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", d.TaskID, d.TaskType, d.DeadAt.Format(time.RFC3339), d.Deliveries, d.Reason)
			}
			return tw.Flush()
		},
	}
	list.Flags().IntVar(&limit, "limit", 100, "at most this many entries (1-1000)")

	replay := &cobra.Command{
		Use:   "replay <task_id>",
		Short: "Run a dead-lettered task again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var out struct {
				TaskID string `json:"task_id"`
				Status string `json:"status"`
			}
			if err := c.do(cmd.Context(), http.MethodPost, "/admin/dlq/"+url.PathEscape(args[0])+"/replay", &out); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "task %s %s\n", out.TaskID, out.Status)
			return nil
		},
	}
	cmd.AddCommand(list, replay)
	return cmd
}

// gatewayClient calls a running gateway's JSON API with a bearer token.
type gatewayClient struct {
	base  string
	token string
	http  *http.Client
}

// do sends a request without a body and decodes a 2xx answer into out. A
// problem-details answer becomes an error carrying its status and detail.
func (c *gatewayClient) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var p struct {
			Detail string `json:"detail"`
		}
		if json.Unmarshal(body, &p) != nil || p.Detail == "" {
			p.Detail = http.StatusText(resp.StatusCode)
		}
		return fmt.Errorf("%s %s: %d: %s", method, path, resp.StatusCode, p.Detail)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
