//go:build !unix

package process

// hungUp reports false: whether the writers of a stream are gone cannot be
// told here, so an exited child's streams are left the drain time to
// reach EOF.
func (s *stream) hungUp() bool { return false }
