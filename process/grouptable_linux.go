package process

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A groupTable holds a bit for every process group id, in memory the
// server shares with its guardian: set while the group is the server's
// to kill. Marking a group is one atomic store, with no system call.
type groupTable struct {
	f    *os.File // the memory, which the guardian is given
	bits []uint32 // f, mapped
}

// groupIDs is how many ids the table holds: PID_MAX_LIMIT, the most
// /proc/sys/kernel/pid_max can be raised to on 64-bit Linux. It takes
// 512 KiB of address space; only the pages written take memory.
const groupIDs = 1 << 22

// newGroupTable makes an empty table in memory of its own.
func newGroupTable() (*groupTable, error) {
	fd, err := unix.MemfdCreate("wsbridge-groups", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("memfd_create", err)
	}
	f := os.NewFile(uintptr(fd), "wsbridge-groups")
	if err := f.Truncate(groupIDs / 8); err != nil {
		f.Close()
		return nil, err
	}
	mem, err := unix.Mmap(fd, 0, groupIDs/8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, os.NewSyscallError("mmap", err)
	}
	bits := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(mem))), len(mem)/4)
	return &groupTable{f: f, bits: bits}, nil
}

// mark sets or clears the bit of pgid. It does nothing on a nil table, or
// for the ids 0 and 1, which would be the guardian's own group and every
// process.
func (t *groupTable) mark(pgid int, set bool) {
	if t == nil || pgid < 2 || pgid >= groupIDs {
		return
	}
	word, bit := &t.bits[pgid/32], uint32(1)<<(pgid%32)
	if set {
		atomic.OrUint32(word, bit)
	} else {
		atomic.AndUint32(word, ^bit)
	}
}

// markedGroups reads a table from f and returns the groups it marks.
func markedGroups(f *os.File) ([]int, error) {
	b := make([]byte, groupIDs/8)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, int64(len(b))), b); err != nil {
		return nil, fmt.Errorf("reading the table of groups: %w", err)
	}
	var groups []int
	for i := 0; i < len(b); i += 4 {
		word := binary.NativeEndian.Uint32(b[i:])
		for j := 0; word != 0; j++ {
			if word&1 != 0 && i*8+j >= 2 {
				groups = append(groups, i*8+j)
			}
			word >>= 1
		}
	}
	return groups, nil
}
