/* Plain I2C transfers (I2C_RDWR) for i2c-stub, included into i2c-stub.c just before its
 * i2c_algorithm by tests/vm/build_image.sh (the VM lab's OLED on a real I2C adapter).
 *
 * A write to a stub chip is taken whole and counted, read-only module parameters
 * report what arrived (the VM tests read them from /sys/module/i2c_stub_rdwr/parameters):
 *   rdwr_msgs         plain I2C write messages to a stub chip
 *   rdwr_bytes        their bytes, the control byte included
 *   rdwr_data_bytes   bytes after an SSD1306/SH1106 data control byte (0x40): pixels
 *   rdwr_lit_bytes    those of them that are not 0 (something is drawn)
 *   rdwr_last_addr    the address of the last message
 * A read gives zeros. A message to an address with no stub chip fails with -ENXIO, as a
 * transfer no device acknowledges does.
 *
 * rdwr_nack (writable, 0644): 1 makes every chip stop answering, on both paths (plain I2C
 * and SMBus, the latter through stub_rdwr_smbus_xfer in front of the stub's own): a panel
 * pulled off the bus. The phone then closes its /dev/i2c-N, and the module can be unloaded.
 */

static unsigned long rdwr_msgs, rdwr_bytes, rdwr_data_bytes, rdwr_lit_bytes;
static unsigned int rdwr_last_addr;
module_param(rdwr_msgs, ulong, 0444);
module_param(rdwr_bytes, ulong, 0444);
module_param(rdwr_data_bytes, ulong, 0444);
module_param(rdwr_lit_bytes, ulong, 0444);
module_param(rdwr_last_addr, uint, 0444);
static bool rdwr_nack;
module_param(rdwr_nack, bool, 0644);

static int stub_rdwr_xfer(struct i2c_adapter *adap, struct i2c_msg *msgs, int num)
{
	int i, j;

	if (READ_ONCE(rdwr_nack))
		return -ENXIO;
	for (i = 0; i < num; i++) {
		bool found = false;

		for (j = 0; j < stub_chips_nr; j++)
			found |= msgs[i].addr == chip_addr[j];
		if (!found)
			return -ENXIO;
		if (msgs[i].flags & I2C_M_RD) {
			memset(msgs[i].buf, 0, msgs[i].len);
			continue;
		}
		rdwr_msgs++;
		rdwr_bytes += msgs[i].len;
		rdwr_last_addr = msgs[i].addr;
		if (msgs[i].len > 0 && msgs[i].buf[0] == 0x40) {
			rdwr_data_bytes += msgs[i].len - 1;
			for (j = 1; j < msgs[i].len; j++)
				rdwr_lit_bytes += msgs[i].buf[j] != 0;
		}
	}
	return num;
}

static s32 stub_rdwr_smbus_xfer(struct i2c_adapter *adap, u16 addr, unsigned short flags,
				char read_write, u8 command, int size, union i2c_smbus_data *data)
{
	if (READ_ONCE(rdwr_nack))
		return -ENXIO;
	return stub_xfer(adap, addr, flags, read_write, command, size, data);
}
