package runner

// DisableKeepAlive makes the node's workers never call InProgress, so a
// task slower than AckWait is delivered again while it runs.
func DisableKeepAlive(cfg *NodeConfig) { cfg.noKeepAlive = true }
