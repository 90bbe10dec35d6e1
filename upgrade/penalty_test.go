package upgrade

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestPenaltyBoxPerAddress(t *testing.T) {
	a, err := newBasicAuth(htpasswdFile(t, "", "ann", "ann's secret"), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const attacker, other = "192.0.2.66:1234", "198.51.100.7:4321"
	if got := a.check(ctx, attacker, "ann", "guess"); got != authBadPassword {
		t.Fatalf("first wrong password: %q", got)
	}
	// In its penalty, the address is refused without a comparison,
	// good password or not; its neighbour in the same /64 too, for IPv6.
	for _, password := range []string{"guess again", "ann's secret"} {
		if got := a.check(ctx, attacker, "ann", password); got != authThrottled {
			t.Errorf("%q in the penalty: %q", password, got)
		}
	}
	// Other addresses are not locked out, nor is a client on the unix
	// socket.
	if got := a.check(ctx, other, "ann", "ann's secret"); got != "" {
		t.Errorf("another address: %q", got)
	}
	if got := a.check(ctx, "@", "ann", "ann's secret"); got != "" {
		t.Errorf("unix socket: %q", got)
	}
	// Once the penalty is over, the good password works again.
	deadline := time.Now().Add(10 * time.Second)
	for a.check(ctx, attacker, "ann", "ann's secret") != "" {
		if time.Now().After(deadline) {
			t.Fatal("the good password is still refused")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(a.box.clients) != 0 {
		t.Errorf("a success did not clear the address: %v", a.box.clients)
	}

	if got := a.check(ctx, "[2001:db8:1:2::1]:1", "ann", "guess"); got != authBadPassword {
		t.Fatalf("IPv6 wrong password: %q", got)
	}
	if got := a.check(ctx, "[2001:db8:1:2::99]:1", "ann", "ann's secret"); got != authThrottled {
		t.Errorf("same /64: %q", got)
	}
	if got := a.check(ctx, "[2001:db8:1:3::1]:1", "ann", "ann's secret"); got != "" {
		t.Errorf("another /64: %q", got)
	}
}

func TestPenaltyBoxOneComparisonAtATime(t *testing.T) {
	// 40 wrong passwords at once from one address cost one comparison:
	// the others wait for its turn and find the address penalised.
	a, err := newBasicAuth(htpasswdFile(t, "", "ann", "ann's secret"), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make(chan string, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- a.check(context.Background(), "192.0.2.66:1", "ann", fmt.Sprint("guess ", i))
		}()
	}
	wg.Wait()
	close(results)
	count := map[string]int{}
	for r := range results {
		count[r]++
	}
	if count[authBadPassword] != 1 || count[authThrottled] != 39 {
		t.Errorf("outcomes %v, want 1 %s and 39 %s", count, authBadPassword, authThrottled)
	}
}

func TestPenaltyBoxGrowsAndIsBounded(t *testing.T) {
	b := newPenaltyBox()
	ctx := context.Background()
	// Each failure doubles the penalty, up to maxPenalty.
	key, _ := clientKey("192.0.2.1:1")
	var penalties []time.Duration
	for range 9 {
		if o := b.clients[key]; o != nil {
			o.until = time.Now() // as if the penalty were just over
		}
		done, why := b.enter(ctx, "192.0.2.1:1")
		if why != "" {
			t.Fatalf("refused: %q", why)
		}
		penalties = append(penalties, done(authBadPassword))
	}
	if penalties[0] != firstPenalty || penalties[1] != 2*firstPenalty || penalties[8] != maxPenalty {
		t.Errorf("penalties %v", penalties)
	}

	// Many addresses: the box keeps at most maxOffenders, and a new
	// address is still let in.
	for i := range maxOffenders + 100 {
		addr := fmt.Sprintf("10.%d.%d.%d:1", i>>16, i>>8&0xff, i&0xff)
		done, why := b.enter(ctx, addr)
		if why != "" {
			t.Fatalf("%s refused: %q", addr, why)
		}
		done(authBadPassword)
	}
	if n := len(b.clients); n > maxOffenders {
		t.Errorf("%d addresses kept, want at most %d", n, maxOffenders)
	}
	done, why := b.enter(ctx, "198.51.100.7:1")
	if why != "" {
		t.Fatalf("a new address when full: %q", why)
	}
	done("")
}
