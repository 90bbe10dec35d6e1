//go:build !linux

package process

// readWatch holds nothing where streams have no NotifyRead.
type readWatch struct{}

func (*readWatch) end(*stream) (pending func()) { return nil }
