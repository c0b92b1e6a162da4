//go:build linux

package reload

import (
	"fmt"
	"io/fs"
	"syscall"
)

// fileID names the file fi describes apart from its name: its device and
// inode, and its change time (which a write or a rename sets).
func fileID(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d:%d:%d.%d", st.Dev, st.Ino, st.Ctim.Sec, st.Ctim.Nsec)
}
