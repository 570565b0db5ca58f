"""Type stubs for the pagewalk module (python/pagewalk_module.cpp)."""
from typing import Iterable, Iterator, Optional, Sequence, Union

class TargetError(OSError): ...
class BadInput(ValueError): ...

class Step:
    level: str
    hw_level: str
    table: int
    index: int
    entry_pa: int
    raw: Optional[int]
    flags: list[str]

class Translation:
    va: int
    status: str
    pa: Optional[int]
    pfn: Optional[int]
    page_size: Optional[int]
    reason: Optional[str]
    symbol: Optional[str]
    steps: list[Step]
    frame_in_source: bool
    @property
    def mapped(self) -> bool: ...
    @property
    def access(self) -> Optional[dict[str, str]]: ...
    def to_dict(self) -> dict: ...

class U64Array(Sequence[int]):
    def tolist(self) -> list[int]: ...

class U8Array(Sequence[int]):
    def tolist(self) -> list[int]: ...

class Batch:
    va: U64Array
    pa: U64Array
    page_size: U64Array
    status: U8Array
    status_names: list[str]
    def __len__(self) -> int: ...

class Target:
    description: str
    mode: str
    root: int
    pgds: list[str]
    notes: list[str]
    def translate(self, va: int, pgd: Optional[str] = None) -> Translation: ...
    def translate_all(self, va: int) -> list[Translation]: ...
    def translate_many(self, vas: Union[Iterable[int], memoryview], pgd: Optional[str] = None) -> Batch: ...
    def read(self, va: int, n: int, pgd: Optional[str] = None) -> bytes: ...
    def read_phys(self, pa: int, n: int) -> bytes: ...
    def map(self, *, pages: bool = False, holes: bool = False, from_: Optional[int] = None, to: Optional[int] = None,
            by_attributes: bool = False, with_kernel: bool = False, max_entries: int = 0) -> Iterator[dict]: ...
    def ps(self) -> list[dict]: ...

def open(*, image: Optional[str] = None, qemu: Optional[str] = None, kcore: bool = False, kmod: bool = False,
         pid: Optional[int] = None, kernel: bool = False, cr3: Optional[int] = None, cpu: Optional[int] = None,
         mode: str = "", pa_bits: int = 0, no_nx: bool = False, pti: Optional[str] = None, format: str = "auto",
         base: Union[None, int, dict[str, int]] = None, kallsyms: Optional[str] = None,
         system_map: Optional[str] = None, btf: Optional[str] = None, vmlinux: Optional[str] = None) -> Target: ...

def modes() -> list[str]: ...
