package hive_test

import (
	"errors"
	"fmt"

	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/core/safety"
)

// Editing a SYSTEM hive read from the guest's NTFS volume: the bytes of
// SYSTEM and of whichever SYSTEM.LOG* files exist go in, new hive bytes
// come out to be written back.
func Example() {
	var system, log1, log2 []byte // read from Windows\System32\config by the NTFS layer

	h, err := hive.Open("SYSTEM", system,
		hive.LogFile{Name: "SYSTEM.LOG1", Data: log1},
		hive.LogFile{Name: "SYSTEM.LOG2", Data: log2})
	if err != nil {
		fmt.Println("not a usable hive:", err)
		return
	}
	defer h.Close()
	for _, f := range h.Findings() {
		fmt.Println("warning:", f.Message)
	}

	cur, err := h.Get(`Select`, "Current")
	if err != nil {
		return
	}
	n, _ := cur.Uint32()
	svc := fmt.Sprintf(`ControlSet%03d\Services\viostor`, n)
	_ = h.SetValue(svc, "Start", hive.DWord(0))
	_ = h.SetValue(svc, "ImagePath", hive.ExpandSZ(`System32\drivers\viostor.sys`))

	out, err := h.Commit()
	var refusal *safety.Refusal
	if errors.As(err, &refusal) {
		fmt.Println(refusal.Reason, "-", refusal.Remedy) // dirty hive without its logs
		return
	}
	_ = out // write back through the NTFS layer
}
