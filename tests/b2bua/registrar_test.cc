// Placeholder: the registrar tests are being written.
