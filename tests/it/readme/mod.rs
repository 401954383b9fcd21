//! The README's console and HTTP blocks run as shown.

mod console;
mod http;
