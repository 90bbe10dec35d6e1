package process

// NotifyRead calls f, once and in a goroutine of its own, when a Read of
// the stream would not block: there is something to read, the stream has
// ended, or it was closed. Until then nothing waits for the stream but
// the process's one epoll instance (see readwatch.Watch), so a reader that
// waits this way between reads holds no goroutine, and no stack, while
// its child is silent. At most one call may be pending at a time.
func (s *stream) NotifyRead(f func()) {
	if !s.watch.NotifyRead(f) {
		go func() {
			s.WaitRead()
			f()
		}()
	}
}
