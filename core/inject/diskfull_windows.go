package inject

import "syscall"

// diskFullErrnos are Windows' "disk full" errors: ERROR_HANDLE_DISK_FULL
// (39) and ERROR_DISK_FULL (112), from winerror.h; Go's ENOSPC is never
// returned there.
var diskFullErrnos = []syscall.Errno{39, 112}
