//go:build !linux

package process

// Start does nothing here: the guardian runs on Linux only, and programs
// elsewhere are not guarded by it.
func (g *Guardian) Start(args []string, lost func(error)) error { return nil }

// Guard returns at once: there is no guardian here.
func Guard() {}

// groupTable is the guardian's table, which is never made here.
type groupTable struct{}

// mark does nothing: there is no table here.
func (t *groupTable) mark(pgid int, set bool) {}
