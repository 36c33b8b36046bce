package disk

import "errors"

// ErrInUse: the host refused to open an image for writing because another
// program has it open in a way that forbids it (on Windows, a sharing
// violation: a running virtual machine, a backup agent or a mounted disk).
// Nothing was written.
var ErrInUse = errors.New("the image is open in another program that does not allow it to be changed now " +
	"(a running virtual machine, a backup, or a mounted disk); close that program or shut the VM down, then try again")
