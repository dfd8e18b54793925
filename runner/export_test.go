package runner

// DisableKeepAlive makes the node's workers never call InProgress, so a
// task slower than AckWait is delivered again while it runs.
func DisableKeepAlive(cfg *NodeConfig) { cfg.noKeepAlive = true }

// SetBeforePublish installs a failpoint between the submitter's commit and
// its publish: when f returns an error, Submit returns it without publishing
// or abandoning the task, as a process dying there would.
func SetBeforePublish(s *Submitter, f func() error) { s.beforePublish = f }
