//! The virtio-net device of QEMU `virt` as a smoltcp [`Device`], without a heap.
//!
//! - [`StaticHal`]: virtio-drivers' [`Hal`] over a static, page-aligned DMA pool (bump
//!   allocation; nothing is ever freed: the driver lives as long as the program). No MMU,
//!   so physical addresses are the buffers' own.
//! - [`find_net`]: probes the board's virtio-mmio slots for the network device.
//! - [`VirtioNet`]: one receive frame always posted to the device, one transmit frame; the
//!   smoltcp tokens lend them out (docs/testing.md, "Firmware").

use core::ptr::NonNull;
use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant;
use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, Transport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr, PAGE_SIZE};

/// The board's virtio-mmio slots: 8 at 0x1000_1000, 0x1000 apart (a single network device
/// lands in the last one).
pub const MMIO_SLOTS: usize = 8;
const MMIO_BASE: usize = 0x1000_1000;
const MMIO_SIZE: usize = 0x1000;

/// Descriptors per virtqueue.
pub const QUEUE_SIZE: usize = 8;
/// Pages of the DMA pool: 2 per queue (descriptors and available ring, used ring), even at
/// 8 descriptors; receive and transmit queue. The entropy device ([`entropy`]) borrows two
/// before the network device is set up and gives them back.
const DMA_PAGES: usize = 4;
/// Bytes of a frame buffer: an Ethernet frame plus the virtio-net header.
pub const FRAME: usize = 1536;
/// The Ethernet MTU smoltcp may fill (header included).
const MTU: usize = 1514;

#[repr(C, align(4096))]
struct Pool([u8; DMA_PAGES * PAGE_SIZE]);

/// In .bss, so zeroed as `dma_alloc` promises.
static mut POOL: Pool = Pool([0; DMA_PAGES * PAGE_SIZE]);
/// Pages of the pool handed out so far.
static mut POOL_USED: usize = 0;

/// virtio-drivers' DMA and address hooks for a board without MMU or IOMMU.
pub struct StaticHal;

// SAFETY: `dma_alloc` hands out disjoint, page-aligned, zeroed pages of a static pool that
// nothing else uses; addresses are identity-mapped (no MMU), so `share` returns the
// buffer's own address and the device sees the memory the driver sees.
unsafe impl Hal for StaticHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let used = &raw mut POOL_USED;
        // SAFETY: single-threaded and not reentrant: the driver's set-up calls this.
        let used = unsafe { &mut *used };
        let end = used.saturating_add(pages);
        // Exhausting the pool is a build-time sizing error the driver cannot recover from;
        // a dangling pointer would corrupt memory, so stop the program instead.
        if end > DMA_PAGES {
            nanokafka_firmware::exit::exit(false);
        }
        let pool = (&raw mut POOL).cast::<u8>();
        let start = pool.wrapping_add(used.saturating_mul(PAGE_SIZE));
        *used = end;
        let Some(start) = NonNull::new(start) else {
            nanokafka_firmware::exit::exit(false);
        };
        (start.as_ptr() as usize as PhysAddr, start)
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, _vaddr: NonNull<u8>, _pages: usize) -> i32 {
        0 // never freed: the driver lives as long as the program
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(paddr as usize as *mut u8).unwrap_or(NonNull::dangling())
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        buffer.cast::<u8>().as_ptr() as usize as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

/// The virtio-net driver this module uses.
pub type Driver = VirtIONetRaw<StaticHal, MmioTransport<'static>, QUEUE_SIZE>;

/// The first virtio-mmio slot holding a network device, as a driver; `None` if there is none
/// or it does not initialise.
///
/// # Safety
/// Call once: the driver takes the device's registers for good.
pub unsafe fn find_net() -> Option<Driver> {
    // SAFETY: the caller calls this once.
    Driver::new(unsafe { find(DeviceType::Network) }?).ok()
}

/// The first virtio-mmio slot holding a device of type `kind`.
///
/// # Safety
/// Once per device: the transport takes its registers for good.
unsafe fn find(kind: DeviceType) -> Option<MmioTransport<'static>> {
    (0..MMIO_SLOTS).find_map(|slot| {
        let header = MMIO_BASE.wrapping_add(slot.wrapping_mul(MMIO_SIZE)) as *mut VirtIOHeader;
        // SAFETY: the board's virtio-mmio slots; an empty one (device id 0) is refused.
        let transport = unsafe { MmioTransport::new(NonNull::new(header)?, MMIO_SIZE) }.ok()?;
        (transport.device_type() == kind).then_some(transport)
    })
}

/// `N` bytes from the board's entropy device (virtio-rng: QEMU's
/// `-device virtio-rng-device`, fed by the host's random source); `None` without one.
/// Its queue's DMA pages are given back to the pool before it returns: the device is
/// used once, before the network device.
///
/// # Safety
/// Call once, before [`find_net`]: the driver takes the device's registers for good.
#[cfg(feature = "tls")]
pub unsafe fn entropy<const N: usize>() -> Option<[u8; N]> {
    use virtio_drivers::device::rng::VirtIORng;
    let used = &raw mut POOL_USED;
    // SAFETY: single-threaded; nothing holds the pool's pages above this mark.
    let mark = unsafe { *used };
    let seed = (|| {
        // SAFETY: the caller calls this once.
        let transport = unsafe { find(DeviceType::EntropySource) }?;
        let mut rng = VirtIORng::<StaticHal, _>::new(transport).ok()?;
        let mut seed = [0; N];
        let mut filled = 0;
        while let Some(rest) = seed.get_mut(filled..).filter(|rest| !rest.is_empty()) {
            match rng.request_entropy(rest) {
                Ok(n) if n > 0 => filled = filled.saturating_add(n),
                _ => return None,
            }
        }
        Some(seed)
        // The driver is dropped here: the device's queue is unset, so it no longer
        // addresses the pages.
    })();
    // SAFETY: the driver that held the pages above the mark is gone.
    unsafe { *used = mark };
    seed
}

/// The network device for smoltcp: the driver and its two frames.
pub struct VirtioNet {
    driver: Driver,
    rx: &'static mut [u8; FRAME],
    tx: &'static mut [u8; FRAME],
    /// The token of the posted receive frame, `None` if posting failed (tried again later).
    posted: Option<u16>,
}

impl VirtioNet {
    /// Wraps `driver` with its receive frame `rx` (posted to the device at once) and its
    /// transmit frame `tx`.
    pub fn new(driver: Driver, rx: &'static mut [u8; FRAME], tx: &'static mut [u8; FRAME]) -> Self {
        let mut net = VirtioNet {
            driver,
            rx,
            tx,
            posted: None,
        };
        net.post();
        net
    }

    /// The device's MAC address.
    pub fn mac_address(&self) -> [u8; 6] {
        self.driver.mac_address()
    }

    /// Posts the receive frame unless it is posted already.
    fn post(&mut self) {
        if self.posted.is_none() {
            // SAFETY: `rx` stays ours and untouched until `receive_complete` returns it.
            self.posted = unsafe { self.driver.receive_begin(self.rx.as_mut_slice()) }.ok();
        }
    }
}

/// A received frame: `frame[start..end]`.
pub struct VirtioRxToken<'a> {
    frame: &'a [u8],
}

impl RxToken for VirtioRxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// The transmit frame, sent (blocking until the device took it) once filled.
pub struct VirtioTxToken<'a> {
    driver: &'a mut Driver,
    frame: &'a mut [u8; FRAME],
}

impl TxToken for VirtioTxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let frame = self.frame.get_mut(..len.min(MTU)).unwrap_or_default();
        let result = f(frame);
        // A frame the device refuses is lost like one dropped on the wire: TCP resends it.
        let _ = self.driver.send(frame);
        result
    }
}

impl Device for VirtioNet {
    type RxToken<'a> = VirtioRxToken<'a>;
    type TxToken<'a> = VirtioTxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(VirtioRxToken<'_>, VirtioTxToken<'_>)> {
        self.post();
        let token = self.posted?;
        if self.driver.poll_receive() != Some(token) {
            return None;
        }
        self.posted = None;
        // SAFETY: the token is the frame's, which the device has filled and given back.
        let (header, len) =
            unsafe { self.driver.receive_complete(token, self.rx.as_mut_slice()) }.ok()?;
        let end = header.saturating_add(len);
        // The frame is re-posted on the next call, after smoltcp has read it.
        let frame = self.rx.get(header..end).unwrap_or_default();
        let tx = VirtioTxToken {
            driver: &mut self.driver,
            frame: &mut *self.tx,
        };
        Some((VirtioRxToken { frame }, tx))
    }

    fn transmit(&mut self, _now: Instant) -> Option<VirtioTxToken<'_>> {
        self.post();
        Some(VirtioTxToken {
            driver: &mut self.driver,
            frame: &mut *self.tx,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(1);
        caps
    }
}
