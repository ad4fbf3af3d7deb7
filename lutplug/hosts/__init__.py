"""Host adapters (OpenColorIO, Nuke, GIMP, Jupyter): thin shims over host-free code that uses the
codec's public API (:mod:`lutplug.codec.nlut`) and never the network's internals."""
