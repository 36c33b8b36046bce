package main

import (
	"errors"
	"fmt"

	"github.com/pvinject/pvinject/core/image"
	"github.com/pvinject/pvinject/core/safety"
)

// backingRefusal turns a parent image outside the image's folder into a
// refusal (exit status 3, nothing opened) that names the flag allowing it;
// other errors pass through.
func backingRefusal(err error) error {
	var pe *image.ParentOutsideError
	if !errors.As(err, &pe) {
		return err
	}
	return &safety.Refusal{Subject: pe.Child,
		Reason: fmt.Sprintf("its parent (backing file) %s is outside the image's folder, and an image from elsewhere can name any host file this way", pe.Resolved),
		Remedy: "move the parent image into the same folder, or pass --allow-backing-outside if you trust this image"}
}
