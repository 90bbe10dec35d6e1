package process

// Limiter bounds how many children run at once (websocketd's --maxforks).
// A nil *Limiter, like the zero Limiter, allows any number. It is safe for
// concurrent use.
type Limiter struct {
	slots chan struct{} // holds one value per slot taken
}

// NewLimiter returns a Limiter for n children at once; n <= 0 means no
// limit (returns nil).
func NewLimiter(n int) *Limiter {
	if n <= 0 {
		return nil
	}
	return &Limiter{slots: make(chan struct{}, n)}
}

// TryAcquire takes a slot and reports whether one was free. It never
// blocks.
func (l *Limiter) TryAcquire() bool {
	if l == nil || l.slots == nil {
		return true
	}
	select {
	case l.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// Release gives back a slot taken by TryAcquire. It panics if no slot is
// taken.
func (l *Limiter) Release() {
	if l == nil || l.slots == nil {
		return
	}
	select {
	case <-l.slots:
	default:
		panic("process: Limiter.Release without a slot taken")
	}
}
