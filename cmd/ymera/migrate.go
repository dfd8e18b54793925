package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func migrateCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate up|down|status",
		Short: "Apply, roll back (one step) or list the store's migrations",
		Long: `migrate runs the migrations embedded in the binary against the store that
DATABASE_URL names (PostgreSQL), or the embedded SQLite file in DATA_DIR.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"up", "down", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd.Flags(), e.getenv)
			if err != nil {
				return err
			}
			log, closeLog, err := newLogger(cfg, e.stderr)
			if err != nil {
				return err
			}
			defer closeLog()
			ctx := cmd.Context()
			switch args[0] {
			case "up", "down", "status":
			default:
				return fmt.Errorf("migrate: unknown direction %q (expected up, down or status)", args[0])
			}
			st, err := openStore(ctx, cfg, log)
			if err != nil {
				return err
			}
			defer st.Close()
			m := migrator(st)
			switch args[0] {
			case "up":
				if err := m.MigrateUp(ctx); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "migrated %s store up\n", st.Backend())
			case "down":
				if err := m.MigrateDown(ctx); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "rolled %s store back one migration\n", st.Backend())
			case "status":
				rows, err := m.MigrateStatus(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
				for _, r := range rows {
					applied := "pending"
					if r.Applied {
						applied = "yes"
						if r.AppliedAt != nil {
							applied = r.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
						}
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\n", r.Version, r.Name, applied)
				}
				return tw.Flush()
			}
			return nil
		},
	}
	addConfigFlags(cmd.Flags())
	return cmd
}
