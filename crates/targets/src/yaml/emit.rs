//! The YAML writer as a serde `Serializer`: typed objects go straight to text, with no
//! `serde_json::Value` tree in between. It writes exactly what the reference emitter over
//! `serde_json::Value` ([`super::reference`]) writes for the same value; a property test
//! holds them to that.

use serde::ser::{self, Serialize};
use serde_json::Error;

use super::{is_plain_ascii, key_into, literal_safe, quoted_into};

/// Where the next value goes, which decides what precedes it and where its lines start.
#[derive(Clone, Copy)]
enum Slot {
    /// The document itself.
    Top,
    /// After `key:` of an entry whose key starts at column `at`.
    Value(usize),
    /// After the `-` of an item at column `at`.
    Item(usize),
}

impl Slot {
    /// The column of a nested container's entries.
    fn inner(self) -> usize {
        match self {
            Slot::Top => 0,
            Slot::Value(at) | Slot::Item(at) => at + 2,
        }
    }
}

/// The emitter: the text so far and the slot of the next value.
pub(super) struct Emitter {
    pub(super) out: String,
    slot: Slot,
}

impl Emitter {
    pub(super) fn new(capacity: usize) -> Self {
        Emitter {
            out: String::with_capacity(capacity),
            slot: Slot::Top,
        }
    }

    #[cfg(any(feature = "compose", feature = "swarm"))]
    /// An emitter that goes on after `out`, whose first value is the value of an entry
    /// whose key (already in `out`) starts at `column`.
    pub(super) fn continuing(out: String, column: usize) -> Self {
        Emitter {
            out,
            slot: Slot::Value(column),
        }
    }

    #[cfg(any(feature = "compose", feature = "swarm"))]
    /// An emitter that goes on after `out` at the top level: a mapping's entries are written
    /// as further top-level entries.
    pub(super) fn top(out: String) -> Self {
        Emitter {
            out,
            slot: Slot::Top,
        }
    }

    fn indent(&mut self, n: usize) {
        const SPACES: &str = "                                                                ";
        let mut left = n;
        while left > 0 {
            let step = left.min(SPACES.len());
            self.out.push_str(&SPACES[..step]);
            left -= step;
        }
    }

    /// A plain scalar (`null`, `true`, `8080`) in the current slot.
    fn plain(&mut self, text: &str) {
        if !matches!(self.slot, Slot::Top) {
            self.out.push(' ');
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// A whole number in the current slot.
    fn number(&mut self, n: impl std::fmt::Display) {
        use std::fmt::Write as _;
        if !matches!(self.slot, Slot::Top) {
            self.out.push(' ');
        }
        // Writing to a String cannot fail.
        let _ = write!(self.out, "{n}");
        self.out.push('\n');
    }

    /// A string in the current slot: a literal block when it reads back exactly, else
    /// double-quoted.
    fn string(&mut self, s: &str) {
        match self.slot {
            Slot::Top => {
                quoted_into(s, &mut self.out);
                self.out.push('\n');
            }
            Slot::Value(at) | Slot::Item(at) => {
                self.out.push(' ');
                if is_plain_ascii(s) {
                    // Most strings: quoted as they are, and never a literal block.
                    self.out.push('"');
                    self.out.push_str(s);
                    self.out.push_str("\"\n");
                } else if literal_safe(s) {
                    let body = s.strip_suffix('\n');
                    self.out
                        .push_str(if body.is_some() { "|\n" } else { "|-\n" });
                    for line in body.unwrap_or(s).split('\n') {
                        if !line.is_empty() {
                            self.indent(at + 2);
                            self.out.push_str(line);
                        }
                        self.out.push('\n');
                    }
                } else {
                    quoted_into(s, &mut self.out);
                    self.out.push('\n');
                }
            }
        }
    }

    fn container(&mut self, map: bool) -> Compound<'_> {
        let slot = self.slot;
        Compound {
            em: self,
            slot,
            count: 0,
            map,
        }
    }
}

/// A mapping or sequence being written: the slot it fills and how many entries it has.
pub(super) struct Compound<'a> {
    em: &'a mut Emitter,
    slot: Slot,
    count: usize,
    map: bool,
}

impl Compound<'_> {
    /// What goes before an entry: the container's opening before the first, the indent of
    /// its column before the others.
    fn before_entry(&mut self) {
        if self.count == 0 {
            match self.slot {
                Slot::Top => {}
                Slot::Value(at) => {
                    self.em.out.push('\n');
                    self.em.indent(at + 2);
                }
                Slot::Item(_) => self.em.out.push(' '),
            }
        } else {
            let at = self.slot.inner();
            self.em.indent(at);
        }
        self.count += 1;
    }

    fn key(&mut self, key: &str) {
        self.before_entry();
        key_into(key, &mut self.em.out);
        self.em.out.push(':');
        self.em.slot = Slot::Value(self.slot.inner());
    }

    fn item(&mut self) {
        self.before_entry();
        self.em.out.push('-');
        self.em.slot = Slot::Item(self.slot.inner());
    }

    fn end(self) {
        if self.count == 0 {
            let empty = if self.map { "{}" } else { "[]" };
            self.em.slot = self.slot;
            self.em.plain(empty);
        }
    }
}

impl<'a> ser::Serializer for &'a mut Emitter {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Variant<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Variant<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.plain(if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.number(v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.number(v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.number(v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.number(v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        // As serde_json writes it; a non-finite number is null there.
        match serde_json::Number::from_f64(v) {
            Some(n) => self.plain(&n.to_string()),
            None => self.plain("null"),
        }
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.string(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.string(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq as _;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        ser::SerializeSeq::end(seq)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.plain("null");
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.plain("null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let mut map = self.container(true);
        map.key(variant);
        value.serialize(&mut *map.em)?;
        map.end();
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(self.container(false))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>, Error> {
        Ok(self.container(false))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Error> {
        Ok(self.container(false))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Variant<'a>, Error> {
        Variant::open(self, variant, false)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(self.container(true))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Error> {
        Ok(self.container(true))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Variant<'a>, Error> {
        Variant::open(self, variant, true)
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.item();
        value.serialize(&mut *self.em)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        key.serialize(KeyText(self))
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.em)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.key(key);
        value.serialize(&mut *self.em)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

/// A tuple or struct variant: a one-entry mapping from the variant's name to its content.
pub(super) struct Variant<'a> {
    outer: Compound<'a>,
    inner_slot: Slot,
    count: usize,
    map: bool,
}

impl<'a> Variant<'a> {
    fn open(em: &'a mut Emitter, variant: &str, map: bool) -> Result<Self, Error> {
        let mut outer = em.container(true);
        outer.key(variant);
        let inner_slot = outer.em.slot;
        Ok(Variant {
            outer,
            inner_slot,
            count: 0,
            map,
        })
    }

    /// The inner container, lent out for one entry.
    fn with_inner<R>(&mut self, f: impl FnOnce(&mut Compound<'_>) -> R) -> R {
        let mut inner = Compound {
            em: &mut *self.outer.em,
            slot: self.inner_slot,
            count: self.count,
            map: self.map,
        };
        let r = f(&mut inner);
        self.count = inner.count;
        r
    }

    fn finish(self) {
        let (slot, count, map) = (self.inner_slot, self.count, self.map);
        Compound {
            em: &mut *self.outer.em,
            slot,
            count,
            map,
        }
        .end();
        self.outer.end();
    }
}

impl ser::SerializeTupleVariant for Variant<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.with_inner(|c| {
            c.item();
            value.serialize(&mut *c.em)
        })
    }
    fn end(self) -> Result<(), Error> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeStructVariant for Variant<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.with_inner(|c| {
            c.key(key);
            value.serialize(&mut *c.em)
        })
    }
    fn end(self) -> Result<(), Error> {
        self.finish();
        Ok(())
    }
}

/// A mapping key, written as the key of the next entry of its mapping: as serde_json accepts
/// keys, strings, and numbers, booleans and characters written as strings. A string is
/// written straight from the value, without a copy; nothing is written for a key refused.
struct KeyText<'c, 'a>(&'c mut Compound<'a>);

fn key_error() -> Error {
    ser::Error::custom("a mapping key must be a string")
}

/// The `serialize_*` methods of [`KeyText`] for values a key shows as their text.
macro_rules! shown_as_key {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(
            fn $method(self, v: $ty) -> Result<(), Error> {
                self.0.key(&v.to_string());
                Ok(())
            }
        )*
    };
}

impl ser::Serializer for KeyText<'_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.0.key(v);
        Ok(())
    }
    shown_as_key!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64);
    fn serialize_f32(self, _: f32) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_f64(self, _: f64) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.0.key(&v.to_string());
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.0.key(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}
