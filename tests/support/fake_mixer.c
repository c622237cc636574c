/*
 * A sound card's mixer for machines without a sound card: an alsa-lib external
 * control plugin whose controls live in a text file.
 *
 * CI has no /dev/snd, so there is no control device for a softvol PCM to put
 * its volume control on, and nothing for a mixer client to set. This plugin is
 * such a device, in user space: every process that opens it (the phone, its
 * baresip, a softvol PCM in a tone player, the test itself) reads and writes
 * the same file, under flock(2), so a volume set by one is heard by the others.
 *
 * Test use only (tests/support/sound_lab.py builds it). Configuration:
 *
 *   ctl.!hw { @args [ CARD ] @args.CARD { type string default "0" }
 *             type deskphone_fake; state "/tmp/x/mixer.state" }
 *   ctl_type.deskphone_fake { lib "/tmp/x/libasound_module_ctl_deskphone_fake.so" }
 *
 * The state file has one control a line, tab separated:
 *   NAME <TAB> int|bool <TAB> COUNT <TAB> MIN <TAB> MAX <TAB> V1[,V2]
 * e.g. "Speaker Playback Volume\tint\t1\t0\t255\t255". Integer controls
 * with MAX > 1 carry the dB scale softvol expects (-51 dB .. 0 dB) and are
 * marked as user controls, so softvol takes them as its own.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <alsa/asoundlib.h>
#include <alsa/control_external.h>

#define MAX_ELEMS 16
#define MAX_COUNT 2
#define ACCESS_USER (1 << 29)           /* SNDRV_CTL_ELEM_ACCESS_USER */
#define MIN_CENTI_DB (-5100)            /* softvol's default min_dB, in 1/100 dB */

struct elem {
	char name[44];
	int is_bool;
	int count;
	long min, max;
	long value[MAX_COUNT];
};

struct fake {
	snd_ctl_ext_t ext;
	char *path;
	int n;
	struct elem e[MAX_ELEMS];
};

/* Read the whole file into f->e; the caller holds a lock on fd. */
static int parse(struct fake *f, int fd)
{
	char buf[4096];
	ssize_t len = pread(fd, buf, sizeof(buf) - 1, 0);
	char *line, *save = NULL;
	int n = 0;

	if (len < 0)
		return -errno;
	buf[len] = 0;
	for (line = strtok_r(buf, "\n", &save); line && n < MAX_ELEMS;
	     line = strtok_r(NULL, "\n", &save)) {
		struct elem *e = &f->e[n];
		char type[8], values[64];
		char *tab = strchr(line, '\t');
		char *v, *vsave = NULL;
		int i = 0;

		if (!tab || tab - line >= (long)sizeof(e->name))
			continue;
		memset(e, 0, sizeof(*e));
		memcpy(e->name, line, tab - line);
		if (sscanf(tab + 1, "%7s\t%d\t%ld\t%ld\t%63s", type, &e->count,
			   &e->min, &e->max, values) != 5)
			continue;
		if (e->count < 1 || e->count > MAX_COUNT)
			continue;
		e->is_bool = strcmp(type, "bool") == 0;
		for (v = strtok_r(values, ",", &vsave); v && i < e->count;
		     v = strtok_r(NULL, ",", &vsave))
			e->value[i++] = strtol(v, NULL, 10);
		for (; i < e->count; i++)
			e->value[i] = e->value[0];
		n++;
	}
	f->n = n;
	return 0;
}

static int serialise(struct fake *f, int fd)
{
	char buf[4096];
	size_t used = 0;
	int i, j;

	for (i = 0; i < f->n; i++) {
		struct elem *e = &f->e[i];
		used += snprintf(buf + used, sizeof(buf) - used, "%s\t%s\t%d\t%ld\t%ld\t",
				 e->name, e->is_bool ? "bool" : "int", e->count, e->min, e->max);
		for (j = 0; j < e->count; j++)
			used += snprintf(buf + used, sizeof(buf) - used, "%s%ld",
					 j ? "," : "", e->value[j]);
		used += snprintf(buf + used, sizeof(buf) - used, "\n");
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, used, 0) != (ssize_t)used)
		return -errno;
	return 0;
}

/* Open, lock, parse; returns the fd (still locked) or a negative errno. */
static int load(struct fake *f, int exclusive)
{
	int fd = open(f->path, exclusive ? O_RDWR : O_RDONLY);
	int err;

	if (fd < 0)
		return -errno;
	if (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0 || (err = parse(f, fd)) < 0) {
		err = -errno;
		close(fd);
		return err ? err : -EIO;
	}
	return fd;
}

static void done(int fd)
{
	flock(fd, LOCK_UN);
	close(fd);
}

static void fake_close(snd_ctl_ext_t *ext)
{
	struct fake *f = ext->private_data;
	free(f->path);
	free(f);
}

static int fake_elem_count(snd_ctl_ext_t *ext)
{
	struct fake *f = ext->private_data;
	return f->n;
}

static int fake_elem_list(snd_ctl_ext_t *ext, unsigned int offset, snd_ctl_elem_id_t *id)
{
	struct fake *f = ext->private_data;
	if (offset >= (unsigned int)f->n)
		return -EINVAL;
	snd_ctl_elem_id_set_interface(id, SND_CTL_ELEM_IFACE_MIXER);
	snd_ctl_elem_id_set_name(id, f->e[offset].name);
	return 0;
}

static snd_ctl_ext_key_t fake_find_elem(snd_ctl_ext_t *ext, const snd_ctl_elem_id_t *id)
{
	struct fake *f = ext->private_data;
	const char *name = snd_ctl_elem_id_get_name(id);
	unsigned int numid = snd_ctl_elem_id_get_numid(id);
	int i;

	if (numid > 0 && numid <= (unsigned int)f->n)
		return numid - 1;
	for (i = 0; i < f->n; i++)
		if (strcmp(f->e[i].name, name) == 0 && snd_ctl_elem_id_get_index(id) == 0)
			return i;
	return SND_CTL_EXT_KEY_NOT_FOUND;
}

static int fake_get_attribute(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key,
			      int *type, unsigned int *acc, unsigned int *count)
{
	struct fake *f = ext->private_data;
	struct elem *e;

	if (key >= (snd_ctl_ext_key_t)f->n)
		return -EINVAL;
	e = &f->e[key];
	*type = e->is_bool ? SND_CTL_ELEM_TYPE_BOOLEAN : SND_CTL_ELEM_TYPE_INTEGER;
	*acc = SND_CTL_EXT_ACCESS_READWRITE | ACCESS_USER;
	if (!e->is_bool && e->max > 1)
		*acc |= SND_CTL_EXT_ACCESS_TLV_READWRITE | SND_CTL_EXT_ACCESS_TLV_CALLBACK;
	*count = e->count;
	return 0;
}

static int fake_get_integer_info(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key,
				 long *imin, long *imax, long *istep)
{
	struct fake *f = ext->private_data;
	if (key >= (snd_ctl_ext_key_t)f->n)
		return -EINVAL;
	*imin = f->e[key].min;
	*imax = f->e[key].max;
	*istep = 1;
	return 0;
}

static int fake_read_integer(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, long *value)
{
	struct fake *f = ext->private_data;
	int fd = load(f, 0), i;

	if (fd < 0)
		return fd;
	if (key >= (snd_ctl_ext_key_t)f->n) {
		done(fd);
		return -EINVAL;
	}
	for (i = 0; i < f->e[key].count; i++)
		value[i] = f->e[key].value[i];
	done(fd);
	return 0;
}

static int fake_write_integer(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, long *value)
{
	struct fake *f = ext->private_data;
	int fd = load(f, 1), i, changed = 0, err;

	if (fd < 0)
		return fd;
	if (key >= (snd_ctl_ext_key_t)f->n) {
		done(fd);
		return -EINVAL;
	}
	for (i = 0; i < f->e[key].count; i++) {
		long v = value[i];
		if (v < f->e[key].min)
			v = f->e[key].min;
		if (v > f->e[key].max)
			v = f->e[key].max;
		changed |= f->e[key].value[i] != v;
		f->e[key].value[i] = v;
	}
	err = changed ? serialise(f, fd) : 0;
	done(fd);
	return err < 0 ? err : changed;
}

static int fake_tlv(snd_ctl_ext_t *ext, snd_ctl_ext_key_t key, int op_flag,
		    unsigned int numid, unsigned int *tlv, unsigned int tlv_size)
{
	struct fake *f = ext->private_data;
	(void)numid;
	if (key >= (snd_ctl_ext_key_t)f->n || f->e[key].max < 2)
		return -ENXIO;
	if (op_flag != 0)
		return 0;               /* writes: the scale is fixed */
	if (tlv_size < 4 * sizeof(unsigned int))
		return -ENOMEM;
	tlv[0] = SND_CTL_TLVT_DB_SCALE;
	tlv[1] = 2 * sizeof(int);
	tlv[2] = (unsigned int)MIN_CENTI_DB;
	tlv[3] = (unsigned int)(-MIN_CENTI_DB / (f->e[key].max - f->e[key].min));
	return 0;
}

static int fake_read_event(snd_ctl_ext_t *ext, snd_ctl_elem_id_t *id, unsigned int *event_mask)
{
	(void)ext; (void)id; (void)event_mask;
	return -EAGAIN;
}

static const snd_ctl_ext_callback_t fake_callbacks = {
	.close = fake_close,
	.elem_count = fake_elem_count,
	.elem_list = fake_elem_list,
	.find_elem = fake_find_elem,
	.get_attribute = fake_get_attribute,
	.get_integer_info = fake_get_integer_info,
	.read_integer = fake_read_integer,
	.write_integer = fake_write_integer,
	.read_event = fake_read_event,
};

SND_CTL_PLUGIN_DEFINE_FUNC(deskphone_fake)
{
	snd_config_iterator_t i, next;
	const char *path = NULL;
	struct fake *f;
	int fd, err;

	(void)root;
	snd_config_for_each(i, next, conf) {
		snd_config_t *n = snd_config_iterator_entry(i);
		const char *id;
		if (snd_config_get_id(n, &id) < 0)
			continue;
		if (!strcmp(id, "comment") || !strcmp(id, "type") || !strcmp(id, "hint"))
			continue;
		if (!strcmp(id, "state")) {
			if (snd_config_get_string(n, &path) < 0)
				return -EINVAL;
			continue;
		}
		SNDERR("Unknown field %s", id);
		return -EINVAL;
	}
	if (!path) {
		SNDERR("deskphone_fake: no state file");
		return -EINVAL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->path = strdup(path);
	fd = f->path ? load(f, 0) : -ENOMEM;
	if (fd < 0) {
		SNDERR("deskphone_fake: cannot read %s", path);
		free(f->path);
		free(f);
		return fd;
	}
	done(fd);
	f->ext.version = SND_CTL_EXT_VERSION;
	f->ext.card_idx = 0;
	strcpy(f->ext.id, "Fake");
	strcpy(f->ext.driver, "deskphone-fake");
	strcpy(f->ext.name, "Fake mixer");
	strcpy(f->ext.longname, "deskphone test mixer (file backed)");
	strcpy(f->ext.mixername, "deskphone-fake");
	f->ext.poll_fd = -1;
	f->ext.callback = &fake_callbacks;
	f->ext.private_data = f;
	f->ext.tlv.c = fake_tlv;
	err = snd_ctl_ext_create(&f->ext, name, mode);
	if (err < 0) {
		free(f->path);
		free(f);
		return err;
	}
	*handlep = f->ext.handle;
	return 0;
}

SND_CTL_PLUGIN_SYMBOL(deskphone_fake);
